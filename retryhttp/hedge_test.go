package retryhttp_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/retry"
	"github.com/retrykit/retrykit/retryhttp"
)

// counted is the RoundTripper below a hedging Transport in these tests: it records the
// attempt number of every request and tracks every response body it hands out.
type counted struct {
	next http.RoundTripper

	mu       sync.Mutex
	attempts []int
	bodies   []*countedBody
}

func (c *counted) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.attempts = append(c.attempts, retryhttp.Attempt(req.Context()))
	c.mu.Unlock()
	resp, err := c.next.RoundTrip(req)
	if err == nil {
		b := &countedBody{rc: resp.Body}
		resp.Body = b
		c.mu.Lock()
		c.bodies = append(c.bodies, b)
		c.mu.Unlock()
	}
	return resp, err
}

// open returns the number of bodies not closed yet, and of those closed, how many were
// read to their end first.
func (c *counted) open() (open, drained int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range c.bodies {
		b.mu.Lock()
		if !b.closed {
			open++
		} else if b.eof {
			drained++
		}
		b.mu.Unlock()
	}
	return open, drained
}

type countedBody struct {
	rc     io.ReadCloser
	mu     sync.Mutex
	closed bool
	eof    bool
}

func (b *countedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.mu.Lock()
		b.eof = true
		b.mu.Unlock()
	}
	return n, err
}

func (b *countedBody) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return b.rc.Close()
}

// connStates tracks the server's connections by their last state.
type connStates struct {
	mu    sync.Mutex
	state map[net.Conn]http.ConnState
}

func (c *connStates) track(conn net.Conn, st http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == nil {
		c.state = map[net.Conn]http.ConnState{}
	}
	c.state[conn] = st
}

// active returns the number of connections serving a request.
func (c *connStates) active() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, st := range c.state {
		if st == http.StateActive {
			n++
		}
	}
	return n
}

// serveHedged is serveInBubble with the server's connections tracked and the transport
// wrapped in a counted.
func serveHedged(h http.Handler) (*counted, *connStates, func()) {
	l := newPipeNet()
	cs := &connStates{}
	srv := &http.Server{Handler: h, ConnState: cs.track}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	tr := &http.Transport{DialContext: l.dial}
	return &counted{next: tr}, cs, func() {
		tr.CloseIdleConnections()
		_ = srv.Close()
		<-done
	}
}

// attemptLog records what the hooks saw of every attempt.
type attemptLog struct {
	mu      sync.Mutex
	ends    []hooks.Attempt
	hedging []bool // hooks.Call.Hedging of every call
}

func (l *attemptLog) hooks() retry.Option {
	return retry.Hooks(hooks.Hooks{
		OnStart: func(_ context.Context, c hooks.Call) context.Context {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.hedging = append(l.hedging, c.Hedging)
			return nil
		},
		OnAttemptEnd: func(_ context.Context, a hooks.Attempt) {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.ends = append(l.ends, a)
		},
	})
}

// TestHedgeSlowFirst: a first attempt that gets no answer is hedged after the hedge
// delay; the hedge's answer is returned at once, the slow attempt is canceled (its
// handler ends, its connection serves nothing any more), and every response body is
// closed once the caller closes the one returned.
func TestHedgeSlowFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		released := make(chan struct{})
		var headers []string
		var mu sync.Mutex
		s := &script{steps: []http.HandlerFunc{
			func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				headers = append(headers, r.Header.Get("X-Retry-Attempt"))
				mu.Unlock()
				hang(w, r)
				close(released)
			},
			func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				headers = append(headers, r.Header.Get("X-Retry-Attempt"))
				mu.Unlock()
				reply(http.StatusOK, "fast")(w, r)
			},
		}}
		next, conns, stop := serveHedged(s)
		defer stop()
		var log attemptLog
		p := retry.MustNew(retry.MaxTries(3), retry.HedgeAfter(100*time.Millisecond), log.hooks())
		tr := retryhttp.NewTransport(next, p, retryhttp.AttemptHeader("X-Retry-Attempt"))
		start := time.Now()
		resp, err := tr.RoundTrip(newGet(t, context.Background(), service))
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 100*time.Millisecond {
			t.Errorf("RoundTrip took %v, want the hedge delay, 100ms", took)
		}
		synctest.Wait()
		select {
		case <-released:
		default:
			t.Error("the slow attempt's handler still runs: its request was not canceled")
		}
		if open, _ := next.open(); open != 1 {
			t.Errorf("%d bodies open before the caller closed the one returned, want 1", open)
		}
		if body := readBody(t, resp); body != "fast" {
			t.Errorf("body %q, want the hedge's %q", body, "fast")
		}
		synctest.Wait()
		if open, _ := next.open(); open != 0 {
			t.Errorf("%d bodies still open", open)
		}
		if n := conns.active(); n != 0 {
			t.Errorf("%d server connections still serve a request", n)
		}
		if got := next.attempts; len(got) != 2 || got[0] != 1 || got[1] != 2 {
			t.Errorf("Attempt(ctx) = %v, want [1 2]", got)
		}
		if len(headers) != 2 || headers[0] != "" || headers[1] != "1" {
			t.Errorf("X-Retry-Attempt = %q, want none then \"1\"", headers)
		}
		log.mu.Lock()
		defer log.mu.Unlock()
		if len(log.ends) != 2 {
			t.Fatalf("%d OnAttemptEnd, want 2", len(log.ends))
		}
		for _, a := range log.ends {
			if want := a.Number == 2; a.Hedged != want || a.Superseded == want {
				t.Errorf("attempt %d: Hedged %v, Superseded %v", a.Number, a.Hedged, a.Superseded)
			}
		}
	})
}

// TestHedgeLoserClosed: an attempt whose response arrives after another's success, but
// before the engine canceled it, has its result dropped by the engine; the Transport
// drains and closes that response all the same.
func TestHedgeLoserClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{steps: []http.HandlerFunc{
			after(150*time.Millisecond, reply(http.StatusOK, "slow")),
			reply(http.StatusOK, "fast"),
		}}
		next, conns, stop := serveHedged(s)
		defer stop()
		// The hedge's end is reported to the hooks before the call ends: holding it
		// there lets the first attempt's response arrive meanwhile.
		p := retry.MustNew(retry.MaxTries(2), retry.HedgeAfter(100*time.Millisecond), retry.Hooks(hooks.Hooks{
			OnAttemptEnd: func(_ context.Context, a hooks.Attempt) {
				if a.Number == 2 {
					time.Sleep(100 * time.Millisecond)
				}
			},
		}))
		tr := retryhttp.NewTransport(next, p)
		resp, err := tr.RoundTrip(newGet(t, context.Background(), service))
		if err != nil {
			t.Fatal(err)
		}
		if open, drained := next.open(); len(next.bodies) != 2 || open != 1 || drained != 1 {
			t.Errorf("%d bodies, %d open, %d drained; want 2, the one returned open, the other drained and closed", len(next.bodies), open, drained)
		}
		if body := readBody(t, resp); body != "fast" {
			t.Errorf("body %q, want %q", body, "fast")
		}
		synctest.Wait()
		if open, _ := next.open(); open != 0 {
			t.Errorf("%d bodies still open", open)
		}
		if n := conns.active(); n != 0 {
			t.Errorf("%d server connections still serve a request", n)
		}
	})
}

// TestHedgeFailed: a hedged call that fails on responses returns the response of the
// attempt that failed last, and closes the others.
func TestHedgeFailed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{steps: []http.HandlerFunc{
			after(150*time.Millisecond, reply(http.StatusServiceUnavailable, "first")),
			after(200*time.Millisecond, reply(http.StatusServiceUnavailable, "second")),
		}}
		next, _, stop := serveHedged(s)
		defer stop()
		p := retry.MustNew(retry.MaxTries(2), retry.HedgeAfter(100*time.Millisecond))
		tr := retryhttp.NewTransport(next, p)
		start := time.Now()
		resp, err := tr.RoundTrip(newGet(t, context.Background(), service))
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 300*time.Millisecond {
			t.Errorf("RoundTrip took %v, want 300ms", took)
		}
		if open, _ := next.open(); open != 0 {
			t.Errorf("%d bodies open: both were drained", open)
		}
		if body := readBody(t, resp); resp.StatusCode != http.StatusServiceUnavailable || body != "second" {
			t.Errorf("%d %q, want the last failure's 503 %q", resp.StatusCode, body, "second")
		}
	})
}

// TestHedgeOnlyWhatMayBeRetried: a request that may be sent only once (a POST without
// an idempotency key, a body that cannot be replayed) gets one attempt, however slow,
// through a policy that does not hedge; the others are hedged.
func TestHedgeOnlyWhatMayBeRetried(t *testing.T) {
	for _, tc := range []struct {
		name   string
		req    func(ctx context.Context) *http.Request
		hedged bool
	}{
		{"GET", func(ctx context.Context) *http.Request {
			r, _ := http.NewRequestWithContext(ctx, http.MethodGet, service, nil)
			return r
		}, true},
		{"POST", func(ctx context.Context) *http.Request {
			r, _ := http.NewRequestWithContext(ctx, http.MethodPost, service, strings.NewReader("order"))
			return r
		}, false},
		{"POST with Idempotency-Key", func(ctx context.Context) *http.Request {
			r, _ := http.NewRequestWithContext(ctx, http.MethodPost, service, bytes.NewReader([]byte("order")))
			r.Header.Set("Idempotency-Key", "k1")
			return r
		}, true},
		{"PUT with a body that cannot be replayed", func(ctx context.Context) *http.Request {
			r, _ := http.NewRequestWithContext(ctx, http.MethodPut, service, io.NopCloser(strings.NewReader("order")))
			return r
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var mu sync.Mutex
				var bodies []string
				s := &script{steps: []http.HandlerFunc{
					func(w http.ResponseWriter, r *http.Request) {
						b, _ := io.ReadAll(r.Body)
						mu.Lock()
						bodies = append(bodies, string(b))
						mu.Unlock()
						after(time.Second, reply(http.StatusOK, "slow"))(w, r)
					},
					func(w http.ResponseWriter, r *http.Request) {
						b, _ := io.ReadAll(r.Body)
						mu.Lock()
						bodies = append(bodies, string(b))
						mu.Unlock()
						reply(http.StatusOK, "fast")(w, r)
					},
				}}
				next, _, stop := serveHedged(s)
				defer stop()
				var log attemptLog
				p := retry.MustNew(retry.MaxTries(3), retry.HedgeAfter(100*time.Millisecond), log.hooks())
				tr := retryhttp.NewTransport(next, p)
				start := time.Now()
				resp, err := tr.RoundTrip(tc.req(context.Background()))
				if err != nil {
					t.Fatal(err)
				}
				body := readBody(t, resp)
				took := time.Since(start)
				want, wantBodies, wantTook := "slow", 1, time.Second
				if tc.hedged {
					want, wantBodies, wantTook = "fast", 2, 100*time.Millisecond
				}
				if body != want || took != wantTook || len(bodies) != wantBodies {
					t.Errorf("body %q after %v, %d requests; want %q after %v, %d", body, took, len(bodies), want, wantTook, wantBodies)
				}
				for _, b := range bodies {
					if b != "order" && tc.name != "GET" {
						t.Errorf("the server received the body %q, want every attempt to send %q", b, "order")
					}
				}
				if len(log.hedging) != 1 || log.hedging[0] != tc.hedged {
					t.Errorf("hooks.Call.Hedging = %v, want %v", log.hedging, tc.hedged)
				}
			})
		})
	}
}

// TestHedgeConcurrent: many hedged calls at once on one Transport, over loopback, half
// of whose first attempts get no answer: every call returns the hedge's answer and no
// response body is left open.
func TestHedgeConcurrent(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if retryhttp.Attempt(r.Context()) != 0 {
			t.Error("the attempt number crossed the wire")
		}
		if r.Header.Get("X-Retry-Attempt") == "" && n.Add(1)%2 == 0 {
			<-r.Context().Done() // the hedge answers for it
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	next := &counted{next: &http.Transport{}}
	defer next.next.(*http.Transport).CloseIdleConnections()
	p := retry.MustNew(retry.MaxTries(3), retry.HedgeAfter(5*time.Millisecond))
	client := &http.Client{Transport: retryhttp.NewTransport(next, p, retryhttp.AttemptHeader("X-Retry-Attempt"))}
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for range 8 {
				resp, err := client.Get(srv.URL)
				if err != nil {
					t.Error(err)
					return
				}
				if body := readBody(t, resp); body != "ok" {
					t.Errorf("body %q", body)
				}
			}
		})
	}
	wg.Wait()
	if open, _ := next.open(); open != 0 {
		t.Errorf("%d response bodies left open", open)
	}
}

// TestHedgeEnds: how a hedged call ends when its winner is not simply the first
// answer: the caller's cancellation with attempts in flight, a Retry-After over the
// limit, the body of the winner read past the attempt timeout and up to the deadline.
// In every case no response body is left open.
func TestHedgeEnds(t *testing.T) {
	for _, tc := range []struct {
		name     string
		steps    []http.HandlerFunc
		policy   []retry.Option
		cancel   time.Duration // the caller cancels after this; 0: never
		wantErr  error         // RoundTrip's error
		wantCode int           // the status of the response returned, if any
		wantBody string        // its body, read whole
		readErr  error         // the error of reading it
		took     time.Duration // until RoundTrip returns
		readTook time.Duration // until the body was read
	}{
		{
			name:    "caller cancels while two attempts run",
			steps:   []http.HandlerFunc{hang},
			cancel:  time.Second,
			wantErr: context.Canceled, took: time.Second,
		},
		{
			name: "Retry-After over the limit from the hedge",
			steps: []http.HandlerFunc{hang, func(w http.ResponseWriter, r *http.Request) {
				reply(http.StatusServiceUnavailable, "go away", "Retry-After", "3600")(w, r)
			}},
			wantCode: http.StatusServiceUnavailable, wantBody: "go away", took: 100 * time.Millisecond,
		},
		{
			name:     "winner's body outlives its attempt",
			steps:    []http.HandlerFunc{hang, slowBody(3*time.Second, "whole")},
			policy:   []retry.Option{retry.AttemptTimeout(time.Second), retry.Deadline(10 * time.Second)},
			wantCode: http.StatusOK, wantBody: "whole", took: 100 * time.Millisecond, readTook: 3100 * time.Millisecond,
		},
		{
			name:     "winner's body ends at the deadline",
			steps:    []http.HandlerFunc{hang, slowBody(time.Hour, "never")},
			policy:   []retry.Option{retry.AttemptTimeout(time.Second), retry.Deadline(5 * time.Second)},
			wantCode: http.StatusOK, readErr: context.DeadlineExceeded, took: 100 * time.Millisecond, readTook: 5 * time.Second,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				next, conns, stop := serveHedged(&script{steps: tc.steps})
				defer stop()
				p := retry.MustNew(append(tc.policy, retry.MaxTries(3), retry.HedgeAfter(100*time.Millisecond))...)
				tr := retryhttp.NewTransport(next, p)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if tc.cancel > 0 {
					time.AfterFunc(tc.cancel, cancel)
				}
				start := time.Now()
				resp, err := tr.RoundTrip(newGet(t, ctx, service))
				if took := time.Since(start); took != tc.took {
					t.Errorf("RoundTrip took %v, want %v", took, tc.took)
				}
				if tc.wantErr != nil {
					if resp != nil || !errors.Is(err, tc.wantErr) {
						t.Fatalf("RoundTrip = %v, %v; want no response and %v", resp, err, tc.wantErr)
					}
				} else {
					if err != nil {
						t.Fatal(err)
					}
					b, rerr := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != tc.wantCode || string(b) != tc.wantBody || !errors.Is(rerr, tc.readErr) {
						t.Errorf("%d %q (read error %v), want %d %q (%v)", resp.StatusCode, b, rerr, tc.wantCode, tc.wantBody, tc.readErr)
					}
					if tc.readTook > 0 && time.Since(start) != tc.readTook {
						t.Errorf("the body was read after %v, want %v", time.Since(start), tc.readTook)
					}
				}
				synctest.Wait()
				if open, _ := next.open(); open != 0 {
					t.Errorf("%d bodies still open", open)
				}
				if n := conns.active(); n != 0 {
					t.Errorf("%d server connections still serve a request", n)
				}
			})
		})
	}
}

// panicking panics in the RoundTrip of its second attempt.
type panicking struct{ next http.RoundTripper }

func (p panicking) RoundTrip(req *http.Request) (*http.Response, error) {
	if retryhttp.Attempt(req.Context()) == 2 {
		panic("next broke")
	}
	return p.next.RoundTrip(req)
}

// TestHedgePanic: a panic of next in a hedge reaches the caller of RoundTrip, once the
// other attempt was canceled and its response, if any, closed.
func TestHedgePanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next, conns, stop := serveHedged(&script{steps: []http.HandlerFunc{hang}})
		defer stop()
		p := retry.MustNew(retry.MaxTries(3), retry.HedgeAfter(100*time.Millisecond))
		tr := retryhttp.NewTransport(panicking{next}, p)
		func() {
			defer func() {
				if r := recover(); r != "next broke" {
					t.Errorf("recovered %v, want next's panic", r)
				}
			}()
			_, _ = tr.RoundTrip(newGet(t, context.Background(), service))
			t.Error("RoundTrip returned")
		}()
		synctest.Wait()
		if open, _ := next.open(); open != 0 {
			t.Errorf("%d bodies still open", open)
		}
		if n := conns.active(); n != 0 {
			t.Errorf("%d server connections still serve a request", n)
		}
	})
}
