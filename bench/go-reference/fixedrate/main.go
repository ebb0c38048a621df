// Command fixedrate is a bounded fixed-rate HTTP/1.1 load generator for `npm run bench` (wrk, which Debian ships,
// only runs closed-loop at saturation, and Debian has no wrk2). Standard library only.
//
// It sends GET requests for -duration seconds at -rate requests per second over -connections keep-alive connections,
// over TLS for an https URL (verified against the -ca file, with -servername as SNI), or with -new-connection over a
// new connection per request (`Connection: close`; over TLS a full handshake each time: the client keeps no session
// cache, so it never resumes one, and counts any resumed handshake to prove it).
// Request i is due at start + i/rate; whichever connection is free takes the next due request, so a slow answer does
// not delay the schedule, and each latency is measured from the time the request was due, not from when it was sent
// (queueing behind a slow server counts, as in wrk2: no coordinated omission). At most rate*duration requests are
// sent and the run ends by duration + 10 s whatever happens. Prints one JSON object with the latency percentiles, the
// counts of errors and non-200 answers, the generator's own lateness in sending (its floor of precision: Go's timers
// wake a sleeping process with about 0.1-0.5 ms delay), and the latency from sending to the full answer ("wire").
package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type result struct {
	Requests    int     `json:"requests"`
	Errors      int     `json:"errors"`
	Non200      int     `json:"non200"`
	Seconds     float64 `json:"seconds"`
	RateDone    float64 `json:"rate"`
	P50Ms       float64 `json:"p50Ms"`
	P90Ms       float64 `json:"p90Ms"`
	P99Ms       float64 `json:"p99Ms"`
	P999Ms      float64 `json:"p999Ms"`
	MaxMs       float64 `json:"maxMs"`
	SendLagP50  float64 `json:"sendLagP50Ms"`
	SendLagP99  float64 `json:"sendLagP99Ms"`
	WireP50Ms   float64 `json:"wireP50Ms"`
	WireP99Ms   float64 `json:"wireP99Ms"`
	Connections int     `json:"connections"`
	// Connections opened (over TLS: full handshakes), and handshakes that resumed a session (expected none).
	Opened  int        `json:"connectionsOpened"`
	Resumed int        `json:"resumed"`
	TLS     *tlsResult `json:"tls,omitempty"`
}

// tlsResult is what the first TLS connection negotiated.
type tlsResult struct {
	Version string `json:"version"`
	Cipher  string `json:"cipher"`
	// The key exchange group; "" when the Go toolchain cannot tell (before Go 1.25).
	Group string `json:"group"`
	// The server's leaf certificate's key, e.g. "RSA 2048" or "ECDSA P-256".
	CertificateKey string `json:"certificateKey"`
}

var tlsVersions = map[uint16]string{tls.VersionTLS10: "TLSv1", tls.VersionTLS11: "TLSv1.1", tls.VersionTLS12: "TLSv1.2", tls.VersionTLS13: "TLSv1.3"}

func describeTLS(state tls.ConnectionState) *tlsResult {
	r := &tlsResult{Version: tlsVersions[state.Version], Cipher: tls.CipherSuiteName(state.CipherSuite), Group: negotiatedGroup(state)}
	if len(state.PeerCertificates) > 0 {
		r.CertificateKey = describeKey(state.PeerCertificates[0])
	}
	return r
}

func describeKey(cert *x509.Certificate) string {
	switch key := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", key.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + key.Curve.Params().Name
	default:
		return cert.PublicKeyAlgorithm.String()
	}
}

// readResponse reads one HTTP/1.1 response with a Content-Length body and returns its status code.
func readResponse(r *bufio.Reader) (int, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !strings.HasPrefix(line, "HTTP/1.") {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(line[9:12])
	if err != nil {
		return 0, err
	}
	length := -1
	for {
		h, err := r.ReadString('\n')
		if err != nil {
			return 0, err
		}
		if h == "\r\n" {
			break
		}
		if name, value, ok := strings.Cut(h, ":"); ok && strings.EqualFold(name, "Content-Length") {
			length, err = strconv.Atoi(strings.TrimSpace(value))
			if err != nil {
				return 0, err
			}
		}
	}
	if length < 0 {
		return 0, fmt.Errorf("response without Content-Length")
	}
	_, err = r.Discard(length)
	return status, err
}

func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)-1))
	return float64(sorted[i]) / 1e6
}

func main() {
	target := flag.String("url", "", "URL to GET, http://host:port/path or https://host:port/path")
	rate := flag.Int("rate", 1000, "requests per second (1 to 1000000)")
	duration := flag.Int("duration", 10, "seconds (1 to 120)")
	connections := flag.Int("connections", 64, "keep-alive connections (1 to 1024)")
	caFile := flag.String("ca", "", "https: PEM file of the CA to verify the server against (required)")
	serverName := flag.String("servername", "", "https: the name to send as SNI and verify (default: the URL's host)")
	newConnection := flag.Bool("new-connection", false, "a new connection per request (Connection: close)")
	flag.Parse()
	u, err := url.Parse(*target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintln(os.Stderr, "fixedrate: -url must be http://host:port/path or https://host:port/path")
		os.Exit(2)
	}
	if *rate < 1 || *rate > 1_000_000 || *duration < 1 || *duration > 120 || *connections < 1 || *connections > 1024 {
		fmt.Fprintln(os.Stderr, "fixedrate: -rate 1..1000000, -duration 1..120, -connections 1..1024")
		os.Exit(2)
	}
	var tlsConfig *tls.Config
	if u.Scheme == "https" {
		pem, err := os.ReadFile(*caFile)
		roots := x509.NewCertPool()
		if err != nil || !roots.AppendCertsFromPEM(pem) {
			fmt.Fprintln(os.Stderr, "fixedrate: https needs -ca, a PEM file of the server's CA")
			os.Exit(2)
		}
		name := *serverName
		if name == "" {
			name = u.Hostname()
		}
		// No ClientSessionCache: every connection is a full handshake. HTTP/1.1 by ALPN, as an HTTP/1.1 client offers.
		tlsConfig = &tls.Config{RootCAs: roots, ServerName: name, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}
	}
	closing := ""
	if *newConnection {
		closing = "Connection: close\r\n"
	}
	request := []byte("GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\n" + closing + "\r\n")
	total := int64(*rate) * int64(*duration)
	interval := float64(time.Second) / float64(*rate)
	hardStop := time.Now().Add(time.Duration(*duration+10) * time.Second)

	var next atomic.Int64
	var mu sync.Mutex
	latencies := make([]time.Duration, 0, total)
	lags := make([]time.Duration, 0, total)
	wires := make([]time.Duration, 0, total)
	var errors, non200, opened, resumed atomic.Int64
	var negotiated atomic.Pointer[tlsResult]
	var wg sync.WaitGroup
	start := time.Now().Add(50 * time.Millisecond)
	for c := 0; c < *connections; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var conn net.Conn
			var reader *bufio.Reader
			mine := make([]time.Duration, 0, total/int64(*connections)+16)
			myLags := make([]time.Duration, 0, cap(mine))
			myWires := make([]time.Duration, 0, cap(mine))
			defer func() {
				if conn != nil {
					conn.Close()
				}
				mu.Lock()
				latencies = append(latencies, mine...)
				lags = append(lags, myLags...)
				wires = append(wires, myWires...)
				mu.Unlock()
			}()
			for {
				i := next.Add(1) - 1
				if i >= total {
					return
				}
				due := start.Add(time.Duration(float64(i) * interval))
				if due.After(hardStop) {
					return
				}
				if wait := time.Until(due); wait > 0 {
					time.Sleep(wait)
				}
				if conn == nil {
					dialer := &net.Dialer{Timeout: 5 * time.Second}
					if tlsConfig != nil {
						var tc *tls.Conn
						tc, err = tls.DialWithDialer(dialer, "tcp", u.Host, tlsConfig)
						if err == nil {
							state := tc.ConnectionState()
							if state.DidResume {
								resumed.Add(1)
							}
							negotiated.CompareAndSwap(nil, describeTLS(state))
							conn = tc
						}
					} else {
						conn, err = dialer.Dial("tcp", u.Host)
					}
					if err != nil {
						errors.Add(1)
						conn = nil
						time.Sleep(10 * time.Millisecond)
						continue
					}
					opened.Add(1)
					reader = bufio.NewReaderSize(conn, 16<<10)
				}
				sent := time.Now()
				conn.SetDeadline(sent.Add(5 * time.Second))
				_, err := conn.Write(request)
				var status int
				if err == nil {
					status, err = readResponse(reader)
				}
				if err != nil {
					errors.Add(1)
					conn.Close()
					conn = nil
					continue
				}
				if status != 200 {
					non200.Add(1)
				}
				done := time.Now()
				if *newConnection {
					conn.Close()
					conn = nil
				}
				mine = append(mine, done.Sub(due))
				myLags = append(myLags, sent.Sub(due))
				myWires = append(myWires, done.Sub(sent))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	sort.Slice(latencies, func(a, b int) bool { return latencies[a] < latencies[b] })
	sort.Slice(lags, func(a, b int) bool { return lags[a] < lags[b] })
	sort.Slice(wires, func(a, b int) bool { return wires[a] < wires[b] })
	r := result{
		Requests: len(latencies), Errors: int(errors.Load()), Non200: int(non200.Load()), Seconds: elapsed,
		RateDone: float64(len(latencies)) / elapsed, P50Ms: percentile(latencies, 0.50), P90Ms: percentile(latencies, 0.90),
		P99Ms: percentile(latencies, 0.99), P999Ms: percentile(latencies, 0.999), MaxMs: percentile(latencies, 1),
		SendLagP50: percentile(lags, 0.50), SendLagP99: percentile(lags, 0.99), Connections: *connections,
		WireP50Ms: percentile(wires, 0.50), WireP99Ms: percentile(wires, 0.99),
		Opened: int(opened.Load()), Resumed: int(resumed.Load()), TLS: negotiated.Load(),
	}
	json.NewEncoder(os.Stdout).Encode(r)
}
