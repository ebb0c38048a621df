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
//
// With -half-heads N (plain HTTP only) it also holds N connections that have each sent half a request head (the request
// line and one header, never the blank line that ends the head), the slow-loris attack: each one closed by the server is
// opened again at once, until the run ends. Their counts are in the JSON object's "halfHeads".
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
	"net/url"
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
	// HalfHeads counts the connections held with half a request head (-half-heads), when asked for.
	HalfHeads *halfHeadCounts `json:"halfHeads,omitempty"`
}

type halfHeadCounts struct {
	// Held is how many were asked for (-half-heads).
	Held int `json:"held"`
	// Opened counts the connections that were opened and sent half a head; ClosedByServer those the server closed.
	Opened         int64 `json:"opened"`
	ClosedByServer int64 `json:"closedByServer"`
	// MaxOpen is the most held at once; Errors counts the failed connects and writes, by kind.
	MaxOpen int64            `json:"maxOpen"`
	Errors  map[string]int64 `json:"errors"`
}

// holdHalfHeads keeps n connections to addr open, each having sent `head` (half a request head), opening a new one
// whenever the server closes one, until ctx is done.
func holdHalfHeads(ctx context.Context, dialer *net.Dialer, addr, head string, n int) *halfHeadCounts {
	counts := &halfHeadCounts{Held: n, Errors: map[string]int64{}}
	var (
		mu                       sync.Mutex
		wg                       sync.WaitGroup
		open, opened, serverGone atomic.Int64
	)
	fail := func(err error) {
		mu.Lock()
		counts.Errors[errorKind(err)]++
		mu.Unlock()
	}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// Spread the first connects over a second: a listen backlog is far smaller than n.
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(i) * time.Second / time.Duration(n)):
			}
			for ctx.Err() == nil {
				c, err := dialer.DialContext(ctx, "tcp", addr)
				if err == nil {
					_, err = io.WriteString(c, head)
					if err != nil {
						c.Close()
					}
				}
				if err != nil {
					if ctx.Err() == nil {
						fail(err)
						time.Sleep(100 * time.Millisecond)
					}
					continue
				}
				openedAt := time.Now()
				opened.Add(1)
				now := open.Add(1)
				mu.Lock()
				if now > counts.MaxOpen {
					counts.MaxOpen = now
				}
				mu.Unlock()
				held := make(chan struct{})
				go func() {
					select {
					case <-ctx.Done():
						c.Close()
					case <-held:
					}
				}()
				// Returns when the server closes the connection (with or without an answer), or at the end of the run.
				io.Copy(io.Discard, c)
				close(held)
				c.Close()
				open.Add(-1)
				if ctx.Err() == nil {
					serverGone.Add(1)
					// A server that closes at once gets a new connection a little later, not in a busy loop.
					if time.Since(openedAt) < 100*time.Millisecond {
						time.Sleep(100 * time.Millisecond)
					}
				}
			}
		}(i)
	}
	wg.Wait()
	counts.Opened, counts.ClosedByServer = opened.Load(), serverGone.Load()
	return counts
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
	halfHeads := flag.Int("half-heads", 0, "also hold this many connections that each sent half a request head (http only, 0 to 4000)")
	flag.Parse()
	https := strings.HasPrefix(*target, "https://")
	if !(https || strings.HasPrefix(*target, "http://")) || https != (*caFile != "") || *rate < 1 || *rate > 2000 || *workers < 2 || *workers > 256 || *maxSeconds < 1 || *maxSeconds > 900 ||
		*halfHeads < 0 || *halfHeads > 4000 || (https && *halfHeads > 0) {
		fmt.Fprintln(os.Stderr, "loadgen: -url http://host:port/path (or https://... with -cacert ca.pem), -rate 1..2000, -workers 2..256, -max-seconds 1..900, -half-heads 0..4000 (http only)")
		os.Exit(2)
	}
	parsed, err := url.Parse(*target)
	if err != nil || parsed.Host == "" {
		fmt.Fprintf(os.Stderr, "loadgen: -url %s: not a URL with a host (%v)\n", *target, err)
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

	var halfHeadsDone chan *halfHeadCounts
	if *halfHeads > 0 {
		addr := parsed.Host
		if *connectTo != "" {
			addr = *connectTo
		}
		head := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\n", parsed.RequestURI(), parsed.Host)
		halfHeadsDone = make(chan *halfHeadCounts, 1)
		go func() { halfHeadsDone <- holdHalfHeads(ctx, dialer, addr, head, *halfHeads) }()
	}

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
	// The half heads are held until the end of the run, not only until the last request.
	var halfHeadResult *halfHeadCounts
	if halfHeadsDone != nil {
		<-ctx.Done()
		halfHeadResult = <-halfHeadsDone
	}
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
		HalfHeads: halfHeadResult,
	}
	json.NewEncoder(os.Stdout).Encode(r)
}
