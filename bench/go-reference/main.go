// Command goreference is the Go reference of the number-crunch service for `npm run bench`: the same two endpoints,
// GET /square-root/<n> and GET /cube-root/<n>, written the way the original Go service was (net/http, strconv.ParseFloat,
// math.Sqrt and math.Cbrt, an encoding/json Encoder per answer) and with the same input checks as the Node service
// (400 JSON for what it refuses), so both do the same work per request. Standard library only.
//
//	goreference -addr 127.0.0.1:8090   serve until SIGTERM or SIGINT, then shut down gracefully
//	goreference -answer                 for each stdin line "<endpoint>\t<number text>" (endpoint square-root or
//	                                    cube-root) print what the original service answered: "200\t<body>" (the body
//	                                    ends with the encoder's newline) or "none\t<reason>\n" where it answered nothing
//	                                    usable (ParseFloat failed, or the encoder refused NaN/Inf and sent an empty 200)
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

const maxInputLength = 64

type squareRootAnswer struct {
	InputNumber float64
	SquareRoot  float64
}

type cubeRootAnswer struct {
	InputNumber float64
	CubeRoot    float64
}

// original returns the body the original service sent for the number text, or an error where it sent none.
func original(endpoint, text string) ([]byte, error) {
	n, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	switch endpoint {
	case "square-root":
		err = enc.Encode(squareRootAnswer{n, math.Sqrt(n)})
	case "cube-root":
		err = enc.Encode(cubeRootAnswer{n, math.Cbrt(n)})
	default:
		return nil, fmt.Errorf("unknown endpoint %q", endpoint)
	}
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func answerLines() error {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		endpoint, text, ok := strings.Cut(in.Text(), "\t")
		if !ok {
			return fmt.Errorf("line without a tab: %q", in.Text())
		}
		body, err := original(endpoint, text)
		if err != nil {
			fmt.Fprintf(out, "none\t%s\n", strings.ReplaceAll(err.Error(), "\n", " "))
			continue
		}
		out.WriteString("200\t")
		out.Write(body)
	}
	return in.Err()
}

func writeError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
	}{message})
}

// number reads the number text as the Node service does: ParseFloat, finite only, at most maxInputLength characters.
func number(w http.ResponseWriter, text string) (float64, bool) {
	if text == "" {
		writeError(w, http.StatusBadRequest, "missing number")
		return 0, false
	}
	if len(text) > maxInputLength {
		writeError(w, http.StatusBadRequest, "number too long")
		return 0, false
	}
	n, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%q is not a finite number", text))
		return 0, false
	}
	if n == 0 {
		n = 0 // -0 is answered as 0, as the Node service does
	}
	return n, true
}

func handle(draining *atomic.Bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed")
			return
		}
		path := r.URL.Path
		switch {
		case strings.HasPrefix(path, "/square-root/") && !strings.Contains(path[len("/square-root/"):], "/"):
			n, ok := number(w, path[len("/square-root/"):])
			if !ok {
				return
			}
			if n < 0 {
				writeError(w, http.StatusBadRequest, "negative")
				return
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(squareRootAnswer{n, math.Sqrt(n)})
		case strings.HasPrefix(path, "/cube-root/") && !strings.Contains(path[len("/cube-root/"):], "/"):
			n, ok := number(w, path[len("/cube-root/"):])
			if !ok {
				return
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(cubeRootAnswer{n, math.Cbrt(n)})
		case path == "/healthz":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte("{\"status\":\"ok\"}\n"))
		case path == "/readyz":
			if draining.Load() {
				writeError(w, http.StatusServiceUnavailable, "shutting down")
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte("{\"status\":\"ready\"}\n"))
		default:
			writeError(w, http.StatusNotFound, "no such path")
		}
	}
}

func serve(addr string) error {
	var draining atomic.Bool
	server := &http.Server{Addr: addr, Handler: handle(&draining), IdleTimeout: 65 * time.Second, ReadHeaderTimeout: 66 * time.Second}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	done := make(chan error, 1)
	go func() {
		<-stop
		draining.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- server.Shutdown(ctx)
	}()
	log.Printf("listening on %s", addr)
	if err := server.ListenAndServe(); err != http.ErrServerClosed {
		return err
	}
	return <-done
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "address to listen on")
	answer := flag.Bool("answer", false, "print the original service's answers for stdin lines instead of serving")
	flag.Parse()
	var err error
	if *answer {
		err = answerLines()
	} else {
		err = serve(*addr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "goreference:", err)
		os.Exit(1)
	}
}
