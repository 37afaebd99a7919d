package retryhttp_test

// The tests of this file measure time exactly: they run in a synctest bubble, whose fake
// clock only moves when every goroutine of the bubble waits. Real sockets do not count
// as waiting, so the server and the client talk over an in-memory network (net.Pipe
// connections, see serveInBubble) with the real http.Server and http.Transport.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/retry"
	"github.com/retrykit/retrykit/retryhttp"
)

const service = "http://service.test/item"

// script is a handler that answers request i with steps[i], the last one past the end.
type script struct {
	mu    sync.Mutex
	n     int
	steps []http.HandlerFunc
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	step := s.steps[min(s.n, len(s.steps)-1)]
	s.n++
	s.mu.Unlock()
	step(w, r)
}

func (s *script) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// pauses records the pauses of a policy (OnRetry).
type pauses struct {
	mu sync.Mutex
	d  []time.Duration
}

func (p *pauses) hooks() retry.Option {
	return retry.Hooks(hooks.Hooks{OnRetry: func(_ context.Context, _ hooks.Attempt, d time.Duration) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.d = append(p.d, d)
	}})
}

// hang answers nothing until the client goes away.
func hang(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

// after answers as h after d.
func after(d time.Duration, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(d):
			h(w, r)
		case <-r.Context().Done():
		}
	}
}

// slowBody sends the headers at once and the body after d.
func slowBody(d time.Duration, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
		select {
		case <-time.After(d):
			_, _ = io.WriteString(w, body)
		case <-r.Context().Done():
		}
	}
}

// TestRetryAfterForms: the pause is the server's Retry-After, in seconds or as a date
// (measured from the response's Date), when it is longer than the backoff.
func TestRetryAfterForms(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &script{steps: []http.HandlerFunc{
			reply(503, "", "Retry-After", "2"),
			func(w http.ResponseWriter, r *http.Request) {
				reply(429, "", "Retry-After", time.Now().Add(3*time.Second).UTC().Format(http.TimeFormat))(w, r)
			},
			reply(503, "", "Retry-After", "garbage"), // ignored: the backoff's pause
			reply(200, "ok"),
		}}
		next, stop := serveInBubble(h)
		defer stop()
		var ps pauses
		tr := retryhttp.NewTransport(next, retry.MustNew(retry.MaxTries(5), retry.Pause(100*time.Millisecond), ps.hooks()))
		start := time.Now()
		resp, err := tr.RoundTrip(newGet(t, context.Background(), service))
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, resp)
		if len(ps.d) != 3 || ps.d[0] != 2*time.Second || ps.d[1] != 3*time.Second || ps.d[2] != 100*time.Millisecond {
			t.Errorf("pauses %v, want [2s 3s 100ms]", ps.d)
		}
		if el := time.Since(start); el != 5100*time.Millisecond {
			t.Errorf("the call took %v, want 5.1s", el)
		}
	})
}

// TestRetryAfterLimit: a wait over RetryAfterLimit or past the deadline ends the call at
// once, with the response.
func TestRetryAfterLimit(t *testing.T) {
	for _, tt := range []struct {
		name     string
		policy   []retry.Option
		opts     []retryhttp.Option
		value    string
		outcome  hooks.Outcome
		status   int
		elapsed  time.Duration
		requests int
	}{
		{"over the default limit", nil, nil, "61", hooks.GaveUp, 503, 0, 1},
		{"within a longer limit", nil, []retryhttp.Option{retryhttp.RetryAfterLimit(2 * time.Minute)}, "61", hooks.Success, 200, 61 * time.Second, 2},
		{"at the limit", nil, nil, "60", hooks.Success, 200, time.Minute, 2},
		{"zero limit", nil, []retryhttp.Option{retryhttp.RetryAfterLimit(0)}, "1", hooks.GaveUp, 503, 0, 1},
		{"zero limit, zero wait", nil, []retryhttp.Option{retryhttp.RetryAfterLimit(0)}, "0", hooks.Success, 200, 0, 2},
		{"past the deadline", []retry.Option{retry.Deadline(10 * time.Second)}, nil, "20", hooks.Deadline, 503, 0, 1},
		{"absurd", nil, nil, "1744000000", hooks.GaveUp, 503, 0, 1},
		{"negative: no hint", nil, nil, "-5", hooks.Success, 200, 0, 2},
	} {
		synctest.Test(t, func(t *testing.T) {
			h := &script{steps: []http.HandlerFunc{reply(503, "wait", "Retry-After", tt.value), reply(200, "ok")}}
			next, stop := serveInBubble(h)
			defer stop()
			var rec record
			tr := retryhttp.NewTransport(next, retry.MustNew(append(tt.policy, retry.MaxTries(3), rec.hooks())...), tt.opts...)
			start := time.Now()
			resp, err := tr.RoundTrip(newGet(t, context.Background(), service))
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			readBody(t, resp)
			o, _ := rec.last()
			if o != tt.outcome || resp.StatusCode != tt.status || time.Since(start) != tt.elapsed || h.requests() != tt.requests {
				t.Errorf("%s: %v, %d after %v and %d requests; want %v, %d after %v and %d", tt.name,
					o, resp.StatusCode, time.Since(start), h.requests(), tt.outcome, tt.status, tt.elapsed, tt.requests)
			}
		})
	}
}

// TestAttemptTimeoutHeaders: the attempt timeout bounds the wait for the headers, and
// the draining of a retried response.
func TestAttemptTimeoutHeaders(t *testing.T) {
	for _, tt := range []struct {
		name  string
		first http.HandlerFunc
	}{
		{"headers late", after(2*time.Second, reply(200, "late"))},
		{"retried body late", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(503)
			http.NewResponseController(w).Flush()
			<-r.Context().Done()
		}},
	} {
		synctest.Test(t, func(t *testing.T) {
			h := &script{steps: []http.HandlerFunc{tt.first, reply(200, "ok")}}
			next, stop := serveInBubble(h)
			defer stop()
			var rec record
			tr := retryhttp.NewTransport(next, retry.MustNew(retry.MaxTries(3), retry.AttemptTimeout(time.Second), rec.hooks()))
			start := time.Now()
			resp, err := tr.RoundTrip(newGet(t, context.Background(), service))
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if body := readBody(t, resp); body != "ok" || time.Since(start) != time.Second || h.requests() != 2 {
				t.Errorf("%s: %q after %v and %d requests; want \"ok\" after 1s and 2", tt.name, body, time.Since(start), h.requests())
			}
			if !errors.Is(rec.errs[0], context.DeadlineExceeded) {
				t.Errorf("%s: first attempt failed with %v, want its timeout", tt.name, rec.errs[0])
			}
		})
	}
}

// TestBodyOutlivesAttempt: the body of the response returned is read after RoundTrip,
// past the attempt timeout; it stays bounded by the policy's deadline and the caller's
// context, and closing it lets the server's handler go.
func TestBodyOutlivesAttempt(t *testing.T) {
	t.Run("slow body", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			next, stop := serveInBubble(slowBody(3*time.Second, "slow but whole"))
			defer stop()
			tr := retryhttp.NewTransport(next, retry.MustNew(retry.AttemptTimeout(time.Second), retry.Deadline(10*time.Second)))
			start := time.Now()
			resp, err := tr.RoundTrip(newGet(t, context.Background(), service))
			if err != nil || time.Since(start) != 0 {
				t.Fatalf("RoundTrip = %v after %v", err, time.Since(start))
			}
			if body := readBody(t, resp); body != "slow but whole" || time.Since(start) != 3*time.Second {
				t.Errorf("body %q after %v, want it whole after 3s", body, time.Since(start))
			}
		})
	})
	for _, tt := range []struct {
		name   string
		policy []retry.Option
		cancel time.Duration // the caller cancels after this; 0: never
		want   time.Duration // when the read fails
		err    error
	}{
		{"policy deadline", []retry.Option{retry.AttemptTimeout(time.Second), retry.Deadline(5 * time.Second)}, 0, 5 * time.Second, context.DeadlineExceeded},
		{"policy deadline, no attempt timeout", []retry.Option{retry.Deadline(5 * time.Second)}, 0, 5 * time.Second, context.DeadlineExceeded},
		{"caller cancels", []retry.Option{retry.AttemptTimeout(time.Second)}, 2 * time.Second, 2 * time.Second, context.Canceled},
		{"caller cancels, bare policy", nil, 2 * time.Second, 2 * time.Second, context.Canceled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				next, stop := serveInBubble(slowBody(time.Hour, "never"))
				defer stop()
				tr := retryhttp.NewTransport(next, retry.MustNew(tt.policy...))
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if tt.cancel > 0 {
					time.AfterFunc(tt.cancel, cancel)
				}
				start := time.Now()
				resp, err := tr.RoundTrip(newGet(t, ctx, service))
				if err != nil {
					t.Fatal(err)
				}
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				if !errors.Is(err, tt.err) || time.Since(start) != tt.want {
					t.Errorf("reading the body: %v after %v; want %v after %v", err, time.Since(start), tt.err, tt.want)
				}
			})
		})
	}
	t.Run("close releases", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			gone := make(chan struct{})
			next, stop := serveInBubble(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				slowBody(time.Hour, "never")(w, r)
				close(gone)
			}))
			defer stop()
			tr := retryhttp.NewTransport(next, retry.MustNew(retry.AttemptTimeout(time.Second), retry.Deadline(time.Hour)))
			resp, err := tr.RoundTrip(newGet(t, context.Background(), service))
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Second)
			resp.Body.Close()
			synctest.Wait()
			select {
			case <-gone:
			default:
				t.Error("the server still sends the body after the caller closed it")
			}
		})
	})
}

// TestCancel: a canceled request ends at once, in an attempt or in a pause, with a nil
// response and the context's error, even after an earlier attempt got a response.
func TestCancel(t *testing.T) {
	for _, tt := range []struct {
		name   string
		steps  []http.HandlerFunc
		policy []retry.Option
	}{
		{"in an attempt", []http.HandlerFunc{hang}, nil},
		{"in an attempt with timeouts", []http.HandlerFunc{hang}, []retry.Option{retry.AttemptTimeout(time.Minute), retry.Deadline(time.Hour)}},
		{"in a pause", []http.HandlerFunc{reply(503, "later", "Retry-After", "30")}, nil},
		{"in a second attempt", []http.HandlerFunc{reply(503, "later", "Retry-After", "1"), hang}, []retry.Option{retry.AttemptTimeout(time.Minute)}},
	} {
		synctest.Test(t, func(t *testing.T) {
			h := &script{steps: tt.steps}
			next, stop := serveInBubble(h)
			defer stop()
			var rec record
			tr := retryhttp.NewTransport(next, retry.MustNew(append(tt.policy, retry.MaxTries(5), rec.hooks())...))
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(2*time.Second, cancel)
			start := time.Now()
			resp, err := tr.RoundTrip(newGet(t, ctx, service))
			if resp != nil || !errors.Is(err, context.Canceled) || time.Since(start) != 2*time.Second {
				t.Errorf("%s: RoundTrip = %v, %v after %v; want nil, canceled after 2s", tt.name, resp, err, time.Since(start))
			}
			if o, _ := rec.last(); o != hooks.Canceled {
				t.Errorf("%s: outcome %v", tt.name, o)
			}
		})
	}
}
