package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// The headers by which the client tells the flaky service which call and which attempt
// a request is, so that the service's answer is a pure function of the workload's plan
// and the seed, whatever the concurrency. The client sets the call; the retrying
// Transport sends the resend count (1 on the first resend) on resends only.
const (
	headerCall   = "Demo-Call"
	headerResend = "Demo-Resend"
)

// answerKind is what the flaky service does with one request.
type answerKind uint8

const (
	answerOK          answerKind = iota // 200
	answerUnavailable                   // 503: a retryable failure
	answerThrottled                     // 429 with a Retry-After header
	answerNotFound                      // 404: not retryable
	answerHang                          // no answer until the client gives up
	answerSlow                          // 200, but only after slowLatency
)

// slowLatency is how long the service holds a slow answer: far longer than the hedge
// delay, and than any attempt timeout the flags are likely to set.
const slowLatency = time.Second

// answer is the flaky service's plan for one request.
type answer struct {
	kind       answerKind
	latency    time.Duration // before answering
	retryAfter time.Duration // answerThrottled: the Retry-After header, whole seconds
}

// String is the answer as the call trees show it.
func (a answer) String() string {
	switch a.kind {
	case answerOK:
		return "200"
	case answerUnavailable:
		return "503"
	case answerThrottled:
		return fmt.Sprintf("429 Retry-After: %d", int(a.retryAfter/time.Second))
	case answerNotFound:
		return "404"
	case answerHang:
		return "no answer"
	case answerSlow:
		return "200 after " + fmtDuration(a.latency)
	}
	return "answer(" + strconv.Itoa(int(a.kind)) + ")"
}

// flakyServer is the unreliable dependency: an HTTP service on loopback that answers
// each request as plan says.
type flakyServer struct {
	plan func(call, attempt int) answer
	url  string
	srv  *http.Server
	quit chan struct{} // closed on close: hanging handlers return
	done chan struct{} // closed when Serve returned
}

// startServer listens on a free loopback port and serves plan's answers.
func startServer(plan func(call, attempt int) answer) (*flakyServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("flaky service: %w", err)
	}
	s := &flakyServer{
		plan: plan,
		url:  "http://" + ln.Addr().String(),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln) // returns http.ErrServerClosed after Shutdown
	}()
	return s, nil
}

// ServeHTTP answers GET /item, and POST /item with a reservation, as planned for the
// request's call and attempt.
func (s *flakyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call, err1 := strconv.Atoi(r.Header.Get(headerCall))
	resends, err2 := 0, error(nil)
	if v := r.Header.Get(headerResend); v != "" {
		resends, err2 = strconv.Atoi(v)
	}
	if err := errors.Join(err1, err2); err != nil {
		http.Error(w, "missing or bad "+headerCall+"/"+headerResend+" header", http.StatusBadRequest)
		return
	}
	attempt := resends + 1
	if r.Method == http.MethodPost {
		// Every attempt of a reservation must carry its key and its whole body.
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<10))
		if err != nil || string(body) != reservation || r.Header.Get("Idempotency-Key") == "" {
			http.Error(w, "a reservation needs an Idempotency-Key and its body", http.StatusBadRequest)
			return
		}
	}
	a := s.plan(call, attempt)
	if a.kind == answerHang || a.latency > 0 {
		var wait <-chan time.Time
		if a.kind != answerHang {
			t := time.NewTimer(a.latency)
			defer t.Stop()
			wait = t.C
		}
		select {
		case <-wait:
		case <-r.Context().Done(): // the client gave up (its attempt timed out)
			return
		case <-s.quit:
			return
		}
	}
	switch a.kind {
	case answerOK, answerSlow:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "{\"call\":%d,\"attempt\":%d,\"stock\":42}\n", call, attempt)
	case answerUnavailable:
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
	case answerThrottled:
		w.Header().Set("Retry-After", strconv.Itoa(int(a.retryAfter/time.Second)))
		http.Error(w, "slow down", http.StatusTooManyRequests)
	case answerNotFound:
		http.NotFound(w, r)
	}
}

// close stops the service: hanging requests are let go, and Shutdown waits for the
// handlers to return (bounded by ctx). A connection the client dialled but never used
// would hold Shutdown up for 5 seconds (net/http waits that long for a new connection's
// first request): after a short grace period the rest are closed.
func (s *flakyServer) close(ctx context.Context) {
	close(s.quit)
	ctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close() // the grace period is over: drop what is left
	}
	<-s.done
}
