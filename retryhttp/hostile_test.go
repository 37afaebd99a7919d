package retryhttp_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/retry"
	"github.com/retrykit/retrykit/retryhttp"
)

// endless writes a body that never ends, until the client goes away.
func endless(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(code)
		chunk := []byte(strings.Repeat("x", 32<<10))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}
}

// raw answers with bytes that are not an HTTP response, or one cut short.
func raw(answer string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		c, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		_, _ = buf.WriteString(answer)
		_ = buf.Flush()
		_ = c.Close()
	}
}

// TestEndlessRetriedBody: retried responses whose bodies never end cost the drain limit
// in memory, not more; the last one comes back still streaming.
func TestEndlessRetriedBody(t *testing.T) {
	srv := newServer(t, endless(503))
	tr := retryhttp.NewTransport(nil, retry.MustNew(retry.MaxTries(3)))
	defer tr.CloseIdleConnections()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	resp, err := tr.RoundTrip(newGet(t, context.Background(), srv.URL))
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("three endless 503s cost %d bytes of allocations, want under 1 MiB", grew)
	}
	n, err := io.CopyN(io.Discard, resp.Body, 4<<20)
	if resp.StatusCode != 503 || n != 4<<20 || err != nil {
		t.Errorf("last response %d: read %d bytes (%v); want a 503 that still streams", resp.StatusCode, n, err)
	}
	if got := len(srv.requests()); got != 3 {
		t.Errorf("%d requests, want 3", got)
	}
}

// TestMalformedAnswers: what a broken server sends is a transport error of the attempt,
// retried, never a panic.
func TestMalformedAnswers(t *testing.T) {
	for _, answer := range []string{
		"NOT HTTP AT ALL\r\n\r\n",
		"HTTP/1.1 999999 Huge\r\n\r\n",
		"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 100\r\n\r\nonly ten..", // cut short
		"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 503 Service Unavailable\r\nRetry-After: \x00\x01\r\nContent-Length: 0\r\n\r\n",
		"",
	} {
		srv := newServer(t, raw(answer))
		tr := retryhttp.NewTransport(nil, retry.MustNew(retry.MaxTries(2)))
		resp, err := tr.RoundTrip(newGet(t, context.Background(), srv.URL))
		if resp != nil {
			readBody(t, resp)
		}
		if err == nil && resp.StatusCode != 503 || err != nil && !errors.Is(err, retry.ErrExhausted) {
			t.Errorf("%.30q: RoundTrip = %v, %v; want the call exhausted", answer, resp, err)
		}
		if got := len(srv.requests()); got != 2 {
			t.Errorf("%.30q: %d requests, want 2", answer, got)
		}
		tr.CloseIdleConnections()
	}
}

// TestStalledHeaders: a server that never finishes its headers holds the call only
// until the deadline.
func TestStalledHeaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next, stop := serveInBubble(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			c, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer c.Close()
			_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nX-Slow: ")
			_ = buf.Flush()
			_, _ = bufio.NewReader(c).ReadByte() // until the client goes away
		}))
		defer stop()
		tr := retryhttp.NewTransport(next, retry.MustNew(retry.Deadline(3*time.Second), retry.AttemptTimeout(time.Second)))
		start := time.Now()
		resp, err := tr.RoundTrip(newGet(t, context.Background(), service))
		if resp != nil || !errors.Is(err, retry.ErrDeadline) || time.Since(start) != 3*time.Second {
			t.Errorf("RoundTrip = %v, %v after %v; want ErrDeadline after 3s", resp, err, time.Since(start))
		}
	})
}

// TestPanicInHook: a panic of a hook goes on to the caller, and the response the
// attempt kept is closed on the way (else its endless handler would hold up the
// server's Close).
func TestPanicInHook(t *testing.T) {
	srv := newServer(t, endless(503))
	tr := retryhttp.NewTransport(nil, retry.MustNew(retry.MaxTries(3), retry.Hooks(hooks.Hooks{
		OnRetry: func(context.Context, hooks.Attempt, time.Duration) { panic("hook broke") },
	})))
	defer tr.CloseIdleConnections()
	func() {
		defer func() {
			if r := recover(); r != "hook broke" {
				t.Errorf("recovered %v, want the hook's panic", r)
			}
		}()
		_, _ = tr.RoundTrip(newGet(t, context.Background(), srv.URL))
	}()
	done := make(chan struct{})
	go func() {
		srv.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the server's Close waits for a response nobody closed")
	}
}
