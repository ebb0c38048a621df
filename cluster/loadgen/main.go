// Command loadgen is the cluster tests' bounded load generator: GET requests (HTTP, or HTTPS with -cacert) at a fixed
// rate from the client network namespace through the load balancer, until it is told to stop (SIGINT/SIGTERM), -max-seconds pass or
// -max-requests were started, whichever comes first. Standard library only.
//
// Every request is counted: a 2xx answer, any other status (by code), or an error (connect refused or timed out,
// reset, EOF before the answer, time-out, by kind). Half of the workers use keep-alive connections (Go's http.Transport,
// which, like every HTTP/1.1 client, retries an idempotent request once when a reused idle connection turns out to
// have been closed before any byte of the answer: RFC 9112, section 9.3.1); the other half open a new connection for
// every request, so a refused connect or a reset on a fresh connection is never retried. On exit it prints one JSON
// object with the counts, latencies, the counts of each second, the longest run of seconds with a failure and samples of
// the errors.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type result struct {
	Requests      int64            `json:"requests"`
	OK            int64            `json:"ok"`
	Failed        int64            `json:"failed"`
	Non2xx        map[string]int64 `json:"non2xx"`
	Errors        map[string]int64 `json:"errors"`
	ErrorSamples  []string         `json:"errorSamples"`
	KeepAlive     int64            `json:"keepAliveRequests"`
	NewConnection int64            `json:"newConnectionRequests"`
	Seconds       float64          `json:"seconds"`
	Rate          int              `json:"rate"`
	P50Ms         float64          `json:"p50Ms"`
	P99Ms         float64          `json:"p99Ms"`
	MaxMs         float64          `json:"maxMs"`
	StoppedBy     string           `json:"stoppedBy"`
	// StartedAtMs is when the first request was due (Unix time, ms): second i of PerSecond begins i s after it.
	StartedAtMs int64 `json:"startedAtMs"`
	// PerSecond counts the requests by the second they were due in: [ok, failed] each.
	PerSecond [][2]int64 `json:"perSecond"`
	// LongestFailingRun is the longest run of consecutive seconds with at least one failed request.
	LongestFailingRun int `json:"longestFailingRunSeconds"`
	// SecondsAllFailed counts the seconds in which requests were due and every one of them failed.
	SecondsAllFailed int `json:"secondsAllFailed"`
}

func errorKind(err error) string {
	var ne net.Error
	s := err.Error()
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "unreachable"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), strings.Contains(s, "EOF"):
		return "EOF before the answer"
	case strings.Contains(s, "tls:"), strings.Contains(s, "x509:"):
		return "tls"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "other"
}

func main() {
	target := flag.String("url", "", "URL to GET, http://host:port/path or https://host:port/path")
	caFile := flag.String("cacert", "", "PEM file of the CA that signed the server's certificate (https only: the only CA trusted)")
	connectTo := flag.String("connect-to", "", "host:port every connection goes to, whatever the URL's host (which stays the TLS server name and Host)")
	rate := flag.Int("rate", 100, "requests per second (1 to 2000)")
	workers := flag.Int("workers", 16, "concurrent workers, half keep-alive, half a new connection per request (2 to 256)")
	maxSeconds := flag.Int("max-seconds", 300, "stop after this many seconds at the latest (1 to 900)")
	timeout := flag.Duration("timeout", 5*time.Second, "time limit of one request, connect included")
	flag.Parse()
	https := strings.HasPrefix(*target, "https://")
	if !(https || strings.HasPrefix(*target, "http://")) || https != (*caFile != "") || *rate < 1 || *rate > 2000 || *workers < 2 || *workers > 256 || *maxSeconds < 1 || *maxSeconds > 900 {
		fmt.Fprintln(os.Stderr, "loadgen: -url http://host:port/path (or https://... with -cacert ca.pem), -rate 1..2000, -workers 2..256, -max-seconds 1..900")
		os.Exit(2)
	}
	var tlsConfig *tls.Config
	if https {
		pem, err := os.ReadFile(*caFile)
		roots := x509.NewCertPool()
		if err != nil || !roots.AppendCertsFromPEM(pem) {
			fmt.Fprintf(os.Stderr, "loadgen: -cacert %s: no PEM certificate could be read (%v)\n", *caFile, err)
			os.Exit(2)
		}
		tlsConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	dialer := &net.Dialer{Timeout: *timeout}
	dial := dialer.DialContext
	if *connectTo != "" {
		dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, *connectTo)
		}
	}
	maxRequests := int64(*rate) * int64(*maxSeconds)

	// HTTPS keep-alive connections negotiate HTTP/2 when the server offers it (as browsers do).
	keepAlive := &http.Client{Timeout: *timeout, Transport: &http.Transport{
		Proxy: nil, MaxIdleConnsPerHost: *workers, IdleConnTimeout: 30 * time.Second,
		DialContext: dial, TLSClientConfig: tlsConfig.Clone(), ForceAttemptHTTP2: https,
	}}
	// A copy of its own: the HTTP/2 set-up of the other transport adds "h2" to the ALPN list of the config it is given.
	fresh := &http.Client{Timeout: *timeout, Transport: &http.Transport{
		Proxy: nil, DisableKeepAlives: true, DialContext: dial, TLSClientConfig: tlsConfig.Clone(),
	}}

	ctx, stop := context.WithTimeout(context.Background(), time.Duration(*maxSeconds)*time.Second)
	defer stop()
	stoppedBy := "max-seconds"
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() { <-sig; stoppedBy = "signal"; stop() }()

	var (
		mu                sync.Mutex
		non2xx            = map[string]int64{}
		errs              = map[string]int64{}
		samples           []string
		latencies         []time.Duration
		next, ka, nc, okN atomic.Int64
		failN             atomic.Int64
		wg                sync.WaitGroup
		perSecond         [][2]int64
	)
	start := time.Now()
	interval := time.Second / time.Duration(*rate)
	for w := 0; w < *workers; w++ {
		client, counter := keepAlive, &ka
		if w%2 == 1 {
			client, counter = fresh, &nc
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= maxRequests {
					return
				}
				due := start.Add(time.Duration(i) * interval)
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Until(due)):
				}
				counter.Add(1)
				// Not tied to ctx: a request started before the stop runs to its end and is counted.
				resp, err := client.Get(*target)
				took := time.Since(due)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				mu.Lock()
				latencies = append(latencies, took)
				sec := int(due.Sub(start) / time.Second)
				for len(perSecond) <= sec {
					perSecond = append(perSecond, [2]int64{})
				}
				if err == nil && resp.StatusCode >= 200 && resp.StatusCode <= 299 {
					perSecond[sec][0]++
				} else {
					perSecond[sec][1]++
				}
				switch {
				case err != nil:
					failN.Add(1)
					kind := errorKind(err)
					errs[kind]++
					// The first 10, and the first of each kind (a rare kind may come late).
					if len(samples) < 10 || errs[kind] == 1 {
						samples = append(samples, fmt.Sprintf("%.3fs %v", time.Since(start).Seconds(), err))
					}
				case resp.StatusCode < 200 || resp.StatusCode > 299:
					failN.Add(1)
					code := fmt.Sprint(resp.StatusCode)
					non2xx[code]++
					if len(samples) < 10 || non2xx[code] == 1 {
						samples = append(samples, fmt.Sprintf("%.3fs HTTP %d", time.Since(start).Seconds(), resp.StatusCode))
					}
				default:
					okN.Add(1)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if stoppedBy == "max-seconds" && next.Load() >= maxRequests {
		stoppedBy = "max-requests"
	}
	sort.Slice(latencies, func(a, b int) bool { return latencies[a] < latencies[b] })
	pct := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return float64(latencies[int(p*float64(len(latencies)-1))]) / 1e6
	}
	longest, run, allFailed := 0, 0, 0
	for _, c := range perSecond {
		if c[1] > 0 {
			run++
			if run > longest {
				longest = run
			}
		} else {
			run = 0
		}
		if c[1] > 0 && c[0] == 0 {
			allFailed++
		}
	}
	r := result{
		Requests: int64(len(latencies)), OK: okN.Load(), Failed: failN.Load(), Non2xx: non2xx, Errors: errs,
		ErrorSamples: samples, KeepAlive: ka.Load(), NewConnection: nc.Load(), Seconds: time.Since(start).Seconds(),
		Rate: *rate, P50Ms: pct(0.5), P99Ms: pct(0.99), MaxMs: pct(1), StoppedBy: stoppedBy,
		StartedAtMs: start.UnixMilli(), PerSecond: perSecond, LongestFailingRun: longest, SecondsAllFailed: allFailed,
	}
	json.NewEncoder(os.Stdout).Encode(r)
}
