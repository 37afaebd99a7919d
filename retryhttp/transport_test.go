package retryhttp_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/retry"
	"github.com/retrykit/retrykit/retryhttp"
)

// TestStatuses: each status of the default retry set is retried; any other is the
// call's answer at once.
func TestStatuses(t *testing.T) {
	for _, code := range []int{408, 429, 500, 502, 503, 504} {
		srv := newServer(t, reply(code, "busy"), reply(200, "ok"))
		var rec record
		c := &http.Client{Transport: retryhttp.NewTransport(nil, retry.MustNew(retry.MaxTries(3), rec.hooks()))}
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatalf("%d then 200: %v", code, err)
		}
		if body := readBody(t, resp); resp.StatusCode != 200 || body != "ok" || len(srv.requests()) != 2 {
			t.Errorf("%d then 200: got %d %q after %d requests; want 200 \"ok\" after 2", code, resp.StatusCode, body, len(srv.requests()))
		}
		if o, n := rec.last(); o != hooks.Success || n != 2 {
			t.Errorf("%d then 200: outcome %v after %d attempts", code, o, n)
		}
		if se, ok := errors.AsType[*retryhttp.StatusError](rec.errs[0]); !ok || se.ErrorType() != strconv.Itoa(code) {
			t.Errorf("%d: the attempt's error is %v, want a *StatusError of type %d", code, rec.errs[0], code)
		}
		c.CloseIdleConnections()
	}
	for _, code := range []int{200, 201, 204, 301, 304, 400, 401, 404, 409, 501, 505} {
		srv := newServer(t, reply(code, "answer"), reply(200, "second"))
		var rec record
		tr := retryhttp.NewTransport(nil, retry.MustNew(retry.MaxTries(3), rec.hooks()))
		resp, err := tr.RoundTrip(newGet(t, context.Background(), srv.URL))
		if err != nil {
			t.Fatalf("%d: %v", code, err)
		}
		readBody(t, resp)
		if resp.StatusCode != code || len(srv.requests()) != 1 {
			t.Errorf("%d: got %d after %d requests, want it after 1", code, resp.StatusCode, len(srv.requests()))
		}
		if o, n := rec.last(); o != hooks.Success || n != 1 {
			t.Errorf("%d: outcome %v after %d attempts, want success after 1", code, o, n)
		}
		tr.CloseIdleConnections()
	}
}

func TestRetryStatus(t *testing.T) {
	srv := newServer(t, reply(404, "not yet"), reply(503, "down"), reply(200, "ok"))
	tr := retryhttp.NewTransport(nil, retry.MustNew(retry.MaxTries(5)), retryhttp.RetryStatus(404))
	defer tr.CloseIdleConnections()
	resp, err := tr.RoundTrip(newGet(t, context.Background(), srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	// 404 is retried, 503 no longer is.
	if body := readBody(t, resp); resp.StatusCode != 503 || body != "down" || len(srv.requests()) != 2 {
		t.Errorf("got %d %q after %d requests; want 503 \"down\" after 2", resp.StatusCode, body, len(srv.requests()))
	}
}

// TestTransportErrors: a broken connection is retried; a certificate that does not
// verify and a request net/http refuses to send are not.
func TestTransportErrors(t *testing.T) {
	t.Run("connection closed", func(t *testing.T) {
		srv := newServer(t, hangUp, hangUp, reply(200, "ok"))
		tr := retryhttp.NewTransport(nil, retry.MustNew(retry.MaxTries(3)))
		defer tr.CloseIdleConnections()
		resp, err := tr.RoundTrip(newGet(t, context.Background(), srv.URL))
		if err != nil {
			t.Fatal(err)
		}
		if body := readBody(t, resp); body != "ok" || len(srv.requests()) != 3 {
			t.Errorf("got %q after %d requests, want \"ok\" after 3", body, len(srv.requests()))
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		var rec record
		tr := retryhttp.NewTransport(nil, retry.MustNew(retry.MaxTries(3), rec.hooks()))
		resp, err := tr.RoundTrip(newGet(t, context.Background(), "http://"+addr+"/"))
		var opErr *net.OpError
		if resp != nil || !errors.Is(err, retry.ErrExhausted) || !errors.As(err, &opErr) {
			t.Errorf("RoundTrip = %v, %v; want nil and an exhausted *retry.Error wrapping a *net.OpError", resp, err)
		}
		if _, n := rec.last(); n != 3 {
			t.Errorf("%d attempts, want 3", n)
		}
	})
	t.Run("certificate", func(t *testing.T) {
		srv := untrustedTLSServer(t)
		var rec record
		tr := retryhttp.NewTransport(&http.Transport{}, retry.MustNew(retry.MaxTries(3), rec.hooks()))
		resp, err := tr.RoundTrip(newGet(t, context.Background(), srv.URL))
		var verr *tls.CertificateVerificationError
		if resp != nil || !errors.Is(err, retry.ErrPermanent) || !errors.As(err, &verr) {
			t.Errorf("RoundTrip = %v, %v; want a permanent error of certificate verification", resp, err)
		}
		if o, n := rec.last(); o != hooks.Permanent || n != 1 {
			t.Errorf("outcome %v after %d attempts, want permanent after 1", o, n)
		}
	})
	srv := newServer(t, reply(200, "ok"))
	for _, tt := range []struct {
		name string
		req  func() *http.Request
	}{
		{"scheme", func() *http.Request {
			return newGet(t, context.Background(), "ftp://"+srv.Listener.Addr().String()+"/")
		}},
		{"method", func() *http.Request {
			r := newGet(t, context.Background(), srv.URL)
			r.Method = "BAD METHOD"
			return r
		}},
		{"header name", func() *http.Request {
			r := newGet(t, context.Background(), srv.URL)
			r.Header["Bad Name"] = []string{"x"}
			return r
		}},
		{"header value", func() *http.Request {
			r := newGet(t, context.Background(), srv.URL)
			r.Header.Set("X-Value", "a\nb")
			return r
		}},
		{"no host", func() *http.Request {
			return &http.Request{Method: "GET", URL: &url.URL{Scheme: "http", Path: "/"}, Header: http.Header{}}
		}},
	} {
		var rec record
		tr := retryhttp.NewTransport(nil, retry.MustNew(retry.MaxTries(3), rec.hooks()))
		resp, err := tr.RoundTrip(tt.req())
		if resp != nil || !errors.Is(err, retry.ErrPermanent) {
			t.Errorf("%s: RoundTrip = %v, %v; want a permanent error", tt.name, resp, err)
		}
		if o, n := rec.last(); o != hooks.Permanent || n != 1 {
			t.Errorf("%s: outcome %v after %d attempts, want permanent after 1", tt.name, o, n)
		}
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("the server received %d refused requests", n)
	}
}

// TestIdempotency: only idempotent requests are sent twice.
func TestIdempotency(t *testing.T) {
	for _, tt := range []struct {
		method   string
		header   string
		anyMeth  bool
		attempts int
	}{
		{http.MethodGet, "", false, 2},
		{http.MethodHead, "", false, 2},
		{http.MethodOptions, "", false, 2},
		{http.MethodTrace, "", false, 2},
		{http.MethodPut, "", false, 2},
		{http.MethodDelete, "", false, 2},
		{http.MethodPost, "", false, 1},
		{http.MethodPatch, "", false, 1},
		{"PROPFIND", "", false, 1},
		{http.MethodPost, "Idempotency-Key", false, 2},
		{http.MethodPost, "X-Idempotency-Key", false, 2},
		{http.MethodPatch, "Idempotency-Key", false, 2},
		{http.MethodPost, "", true, 2},
	} {
		srv := newServer(t, reply(503, "down"), reply(200, "ok"))
		var rec record
		var opts []retryhttp.Option
		if tt.anyMeth {
			opts = append(opts, retryhttp.RetryAnyMethod())
		}
		tr := retryhttp.NewTransport(nil, retry.MustNew(retry.MaxTries(3), rec.hooks()), opts...)
		req, err := http.NewRequest(tt.method, srv.URL, strings.NewReader("payload"))
		if err != nil {
			t.Fatal(err)
		}
		if tt.header != "" {
			req.Header.Set(tt.header, "key-1")
		}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tt.method, tt.header, err)
		}
		readBody(t, resp)
		name := tt.method + " " + tt.header
		if got := len(srv.requests()); got != tt.attempts {
			t.Errorf("%s: %d requests, want %d", name, got, tt.attempts)
		}
		o, n := rec.last()
		if tt.attempts == 1 {
			// One attempt, under the policy: the 503 is the call's answer, not retried.
			if resp.StatusCode != 503 || o != hooks.Permanent || n != 1 {
				t.Errorf("%s: %d, outcome %v after %d; want 503, permanent after 1", name, resp.StatusCode, o, n)
			}
		} else if resp.StatusCode != 200 || o != hooks.Success {
			t.Errorf("%s: %d, outcome %v; want 200, success", name, resp.StatusCode, o)
		}
		for i, r := range srv.requests() {
			if r.body != "payload" && tt.method != http.MethodHead {
				t.Errorf("%s: request %d had body %q", name, i+1, r.body)
			}
			if tt.header != "" && r.header.Get(tt.header) != "key-1" {
				t.Errorf("%s: request %d lost its %s", name, i+1, tt.header)
			}
		}
		tr.CloseIdleConnections()
	}
}

// TestBodyReplay: every resend carries the whole body, through GetBody, for the three
// reader types http.NewRequest knows; a body without GetBody is sent once.
func TestBodyReplay(t *testing.T) {
	const payload = "the request body"
	for _, tt := range []struct {
		name     string
		body     func() io.Reader
		attempts int
	}{
		{"bytes.Buffer", func() io.Reader { return bytes.NewBufferString(payload) }, 3},
		{"bytes.Reader", func() io.Reader { return bytes.NewReader([]byte(payload)) }, 3},
		{"strings.Reader", func() io.Reader { return strings.NewReader(payload) }, 3},
		{"other reader", func() io.Reader { return io.MultiReader(strings.NewReader(payload)) }, 1},
	} {
		srv := newServer(t, reply(503, ""), reply(502, ""), reply(200, "ok"))
		tr := retryhttp.NewTransport(nil, retry.MustNew(retry.MaxTries(3)))
		req, err := http.NewRequest(http.MethodPut, srv.URL, tt.body())
		if err != nil {
			t.Fatal(err)
		}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		readBody(t, resp)
		reqs := srv.requests()
		if len(reqs) != tt.attempts {
			t.Errorf("%s: %d requests, want %d", tt.name, len(reqs), tt.attempts)
		}
		for i, r := range reqs {
			if r.body != payload {
				t.Errorf("%s: request %d carried %q", tt.name, i+1, r.body)
			}
		}
		tr.CloseIdleConnections()
	}
}

// countingReader is a large streaming body: it counts what was read of it.
type countingReader struct {
	left, read int
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.left, 32<<10) // never more than 32 KiB at once
	for i := range p[:n] {
		p[i] = 'x'
	}
	r.left -= n
	r.read += n
	return n, nil
}

// TestStreamingBody: a large body that cannot be replayed is streamed once, never
// buffered: the transport reads it as it sends it, and no retry follows.
func TestStreamingBody(t *testing.T) {
	const size = 8 << 20
	srv := newServer(t, reply(503, "down"))
	tr := retryhttp.NewTransport(nil, retry.MustNew(retry.MaxTries(3)))
	defer tr.CloseIdleConnections()
	body := &countingReader{left: size}
	req, err := http.NewRequest(http.MethodPut, srv.URL, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if got := readBody(t, resp); resp.StatusCode != 503 || got != "down" {
		t.Errorf("got %d %q, want the 503", resp.StatusCode, got)
	}
	reqs := srv.requests()
	if len(reqs) != 1 || len(reqs[0].body) != size || body.read != size {
		t.Errorf("%d requests, the server read %d bytes, the transport %d; want 1 request of %d", len(reqs), len(reqs[0].body), body.read, size)
	}
}

// idleCounter is a next RoundTripper that counts CloseIdleConnections calls.
type idleCounter struct {
	*http.Transport
	closes int
}

func (c *idleCounter) CloseIdleConnections() { c.closes++; c.Transport.CloseIdleConnections() }

// TestDrainAndReuse: retried responses are drained and closed, so that every attempt
// reuses the one connection (as httptrace reports it for each attempt); the transport
// never closes idle connections, not even when the call gives up.
func TestDrainAndReuse(t *testing.T) {
	body := strings.Repeat("b", 60<<10) // under the 64 KiB drain limit
	for _, tt := range []struct {
		name     string
		steps    []http.HandlerFunc
		want     string
		reused   string // per attempt of the second call
		min, max int32  // new connections the server saw for the two calls
	}{
		{"success", []http.HandlerFunc{reply(503, body), reply(500, body), reply(200, "ok")}, "ok", "true true true", 1, 2},
		{"exhausted", []http.HandlerFunc{reply(503, body), reply(503, body), reply(503, "last")}, "last", "true true true", 1, 2},
		// A body longer than the limit is not read to its end: its connection is closed.
		{"long bodies", []http.HandlerFunc{reply(503, strings.Repeat("l", 200<<10)), reply(200, "ok")}, "ok", "true false", 3, 4},
	} {
		srv := newServer(t, tt.steps...)
		next := &idleCounter{Transport: &http.Transport{}}
		tr := retryhttp.NewTransport(next, retry.MustNew(retry.MaxTries(3)))
		var reused []string
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
			reused = append(reused, strconv.FormatBool(info.Reused))
		}}
		for range 2 { // the second call's first attempt reuses the first call's connection
			reused = nil
			resp, err := tr.RoundTrip(newGet(t, httptrace.WithClientTrace(context.Background(), trace), srv.URL))
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if got := readBody(t, resp); got != tt.want {
				t.Errorf("%s: body %.10q, want %q", tt.name, got, tt.want)
			}
			srv.mu.Lock()
			srv.reqs = nil
			srv.mu.Unlock()
		}
		if got := strings.Join(reused, " "); got != tt.reused || next.closes != 0 {
			t.Errorf("%s: connection reused per attempt %q and %d CloseIdleConnections; want %q and 0", tt.name, got, next.closes, tt.reused)
		}
		// The server's count can exceed the minimum by one: an attempt may start before
		// the transport has put the connection just drained back in its pool, and dial
		// while it waits (the drained connection still serves it).
		if n := srv.conns.Load(); n < tt.min || n > tt.max {
			t.Errorf("%s: the server accepted %d connections, want %d to %d", tt.name, n, tt.min, tt.max)
		}
		next.Transport.CloseIdleConnections()
	}
}

// TestLastResponseWhole: when the call ends on a response, whatever the outcome, that
// response comes back with its body whole and unread, and a nil error.
func TestLastResponseWhole(t *testing.T) {
	long := strings.Repeat("0123456789", 20<<10) // 200 KiB: more than the drain limit
	for _, tt := range []struct {
		name    string
		policy  []retry.Option
		opts    []retryhttp.Option
		steps   []http.HandlerFunc
		outcome hooks.Outcome
		want    string
	}{
		{"exhausted", []retry.Option{retry.MaxTries(2)},
			nil, []http.HandlerFunc{reply(503, "first"), reply(503, "second")}, hooks.Exhausted, "second"},
		{"exhausted long", []retry.Option{retry.MaxTries(2)},
			nil, []http.HandlerFunc{reply(503, "first"), reply(503, long)}, hooks.Exhausted, long},
		{"deadline", []retry.Option{retry.Deadline(time.Second), retry.MaxTries(5)},
			nil, []http.HandlerFunc{reply(503, "wait", "Retry-After", "30")}, hooks.Deadline, "wait"},
		{"gave up: Retry-After over the limit", []retry.Option{retry.MaxTries(5)},
			nil, []http.HandlerFunc{reply(429, "an hour", "Retry-After", "3600")}, hooks.GaveUp, "an hour"},
		{"gave up: a year", []retry.Option{retry.MaxTries(5)},
			nil, []http.HandlerFunc{reply(503, "a year", "Retry-After", "31536000")}, hooks.GaveUp, "a year"},
		{"gave up: policy", []retry.Option{retry.MaxTries(5), retry.GiveUp(func(error) bool { return true })},
			nil, []http.HandlerFunc{reply(500, long)}, hooks.GaveUp, long},
		{"throttled", []retry.Option{retry.MaxTries(5), retry.Throttle(retry.NewBudget(0, 0))},
			nil, []http.HandlerFunc{reply(502, "no budget")}, hooks.Throttled, "no budget"},
		{"permanent: not idempotent", []retry.Option{retry.MaxTries(5)},
			[]retryhttp.Option{retryhttp.OperationName(func(*http.Request) string { return "post" })},
			[]http.HandlerFunc{reply(503, long)}, hooks.Permanent, long},
	} {
		srv := newServer(t, tt.steps...)
		var rec record
		tr := retryhttp.NewTransport(nil, retry.MustNew(append(tt.policy, rec.hooks())...), tt.opts...)
		req := newGet(t, context.Background(), srv.URL)
		if strings.HasPrefix(tt.name, "permanent") {
			req.Method = http.MethodPost
		}
		resp, err := tr.RoundTrip(req)
		if err != nil || resp == nil {
			t.Fatalf("%s: RoundTrip = %v, %v; want the last response and no error", tt.name, resp, err)
		}
		if got := readBody(t, resp); got != tt.want {
			t.Errorf("%s: body of %d bytes %.20q, want %d bytes %.20q", tt.name, len(got), got, len(tt.want), tt.want)
		}
		if o, _ := rec.last(); o != tt.outcome {
			t.Errorf("%s: outcome %v, want %v", tt.name, o, tt.outcome)
		}
		tr.CloseIdleConnections()
	}
}

// TestAttemptNumber: next sees Attempt(ctx) of every attempt, and the server the resend
// count in AttemptHeader on resends only.
func TestAttemptNumber(t *testing.T) {
	srv := newServer(t, reply(503, ""), reply(503, ""), reply(200, "ok"))
	var seenAttempts []int
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		seenAttempts = append(seenAttempts, retryhttp.Attempt(r.Context()))
		return base.RoundTrip(r)
	})
	tr := retryhttp.NewTransport(next, retry.MustNew(retry.MaxTries(3)), retryhttp.AttemptHeader("x-retry-attempt"))
	req := newGet(t, context.Background(), srv.URL)
	req.Header.Set("X-Caller", "kept")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	if len(seenAttempts) != 3 || seenAttempts[0] != 1 || seenAttempts[1] != 2 || seenAttempts[2] != 3 {
		t.Errorf("Attempt in next: %v, want [1 2 3]", seenAttempts)
	}
	var headers []string
	for _, r := range srv.requests() {
		v, ok := r.header["X-Retry-Attempt"]
		headers = append(headers, strings.Join(v, ",")+map[bool]string{true: "", false: "(absent)"}[ok])
		if r.header.Get("X-Caller") != "kept" {
			t.Errorf("a request lost the caller's header: %v", r.header)
		}
	}
	if strings.Join(headers, " ") != "(absent) 1 2" {
		t.Errorf("X-Retry-Attempt per request: %v, want (absent) 1 2", headers)
	}
	if _, ok := req.Header["X-Retry-Attempt"]; ok {
		t.Error("the caller's request was modified")
	}
	if retryhttp.Attempt(context.Background()) != 0 {
		t.Error("Attempt outside a Transport is not 0")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestOperationName: hooks name a call OperationName(req), else the policy's Name, else
// "HTTP <method>".
func TestOperationName(t *testing.T) {
	srv := newServer(t, reply(200, "ok"))
	for _, tt := range []struct {
		policy []retry.Option
		opts   []retryhttp.Option
		method string
		want   string
	}{
		{nil, nil, "", "HTTP GET"},
		{nil, nil, http.MethodPost, "HTTP POST"},
		{nil, nil, "PROPFIND", "HTTP PROPFIND"},
		{[]retry.Option{retry.Name("inventory")}, nil, http.MethodGet, "inventory"},
		{[]retry.Option{retry.Name("inventory")}, []retryhttp.Option{retryhttp.OperationName(func(r *http.Request) string { return "route " + r.URL.Path })}, http.MethodGet, "route /items"},
		{nil, []retryhttp.Option{retryhttp.OperationName(func(*http.Request) string { return "" })}, http.MethodDelete, "HTTP DELETE"},
	} {
		var rec record
		tr := retryhttp.NewTransport(nil, retry.MustNew(append(tt.policy, rec.hooks())...), tt.opts...)
		for range 2 { // the second call takes the cached policy
			req := newGet(t, context.Background(), srv.URL+"/items")
			req.Method = tt.method
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			readBody(t, resp)
		}
		if len(rec.names) != 2 || rec.names[0] != tt.want || rec.names[1] != tt.want {
			t.Errorf("%v %q: names %q, want %q twice", tt.policy, tt.method, rec.names, tt.want)
		}
		tr.CloseIdleConnections()
	}
}

// TestNoSecretsInErrors: no error shows the URL's query or userinfo.
func TestNoSecretsInErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	srv := newServer(t, reply(503, "down"))
	const secret = "s3cr3t"
	check := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", what)
		} else if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error %q shows a secret", what, err)
		}
	}
	for _, u := range []string{
		"http://user:" + secret + "@" + closed + "/path?token=" + secret,
		srv.URL + "/path?token=" + secret + "#" + secret,
		strings.Replace(srv.URL, "://", "://"+secret+"@", 1) + "/path",
	} {
		var rec record
		tr := retryhttp.NewTransport(nil, retry.MustNew(retry.MaxTries(2), rec.hooks()))
		resp, err := tr.RoundTrip(newGet(t, context.Background(), u))
		if resp != nil {
			readBody(t, resp)
		} else {
			check("RoundTrip", err)
		}
		for _, e := range rec.errs {
			check("attempt", e)
		}
		tr.CloseIdleConnections()
	}
	// An error of next that shows the URL in full, as an http.Client's does.
	full := "http://user:" + secret + "@" + closed + "/path?token=" + secret
	client := &http.Client{}
	tr := retryhttp.NewTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) { return client.Do(r) }),
		retry.MustNew(retry.MaxTries(2)))
	resp, err := tr.RoundTrip(newGet(t, context.Background(), full))
	var ue *url.Error
	if resp != nil || !errors.As(err, &ue) {
		t.Errorf("RoundTrip = %v, %v; want a *url.Error", resp, err)
	}
	check("next's *url.Error", err)
	se := &retryhttp.StatusError{}
	if se.Error() != " : " || se.ErrorType() != "_OTHER" {
		t.Errorf("zero StatusError = %q, %q", se.Error(), se.ErrorType())
	}
}

// TestStatusErrorMessage: method, URL without its secrets, status.
func TestStatusErrorMessage(t *testing.T) {
	srv := newServer(t, reply(503, ""))
	var rec record
	tr := retryhttp.NewTransport(nil, retry.MustNew(retry.MaxTries(1), rec.hooks()))
	defer tr.CloseIdleConnections()
	resp, err := tr.RoundTrip(newGet(t, context.Background(), strings.Replace(srv.URL, "://", "://u:p@", 1)+"/a/b?q=1"))
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	want := "GET " + srv.URL + "/a/b: 503 Service Unavailable"
	if len(rec.errs) != 1 || rec.errs[0] == nil || rec.errs[0].Error() != want {
		t.Errorf("attempt error %v, want %q", rec.errs, want)
	}
}

// TestBadInput: programming errors panic with a clear message; bad requests are errors.
func TestBadInput(t *testing.T) {
	p := retry.MustNew()
	for _, tt := range []struct {
		name string
		f    func()
		want string
	}{
		{"nil policy", func() { retryhttp.NewTransport(nil, nil) }, "retryhttp: NewTransport called with a nil *retry.Policy (build one with retry.New)"},
		{"nil policy client", func() { retryhttp.NewClient(nil) }, "retryhttp: NewTransport called with a nil *retry.Policy (build one with retry.New)"},
		{"status", func() { retryhttp.NewTransport(nil, p, retryhttp.RetryStatus(503, 99)) }, "retryhttp: RetryStatus(99): not an HTTP status code (100 to 599)"},
		{"limit", func() { retryhttp.NewTransport(nil, p, retryhttp.RetryAfterLimit(-time.Second)) }, "retryhttp: RetryAfterLimit(-1s): must not be negative"},
		{"header", func() { retryhttp.NewTransport(nil, p, retryhttp.AttemptHeader("X Retry")) }, `retryhttp: AttemptHeader("X Retry"): not a valid header field name`},
		{"empty header", func() { retryhttp.NewTransport(nil, p, retryhttp.AttemptHeader("")) }, `retryhttp: AttemptHeader(""): not a valid header field name`},
		{"name", func() { retryhttp.NewTransport(nil, p, retryhttp.OperationName(nil)) }, "retryhttp: OperationName(nil): needs a function"},
	} {
		got := func() (msg string) {
			defer func() {
				r := recover()
				if e, ok := r.(error); ok {
					msg = e.Error()
				} else {
					msg, _ = r.(string)
				}
			}()
			tt.f()
			return "no panic"
		}()
		if got != tt.want {
			t.Errorf("%s: panic %q, want %q", tt.name, got, tt.want)
		}
	}
	tr := retryhttp.NewTransport(nil, p, nil, retryhttp.RetryStatus()) // a nil option is skipped
	if resp, err := tr.RoundTrip(nil); resp != nil || err == nil {
		t.Errorf("RoundTrip(nil) = %v, %v; want an error", resp, err)
	}
	body := &closeCounter{Reader: strings.NewReader("x")}
	if resp, err := tr.RoundTrip(&http.Request{Method: "PUT", Body: body}); resp != nil || err == nil || body.closed != 1 {
		t.Errorf("RoundTrip(no URL) = %v, %v, body closed %d times; want an error and the body closed", resp, err, body.closed)
	}
}

type closeCounter struct {
	io.Reader
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

// TestBodyClosedWithoutAttempt: a request whose context is done before the first attempt
// is not sent, and its body is closed all the same, as RoundTrip must.
func TestBodyClosedWithoutAttempt(t *testing.T) {
	srv := newServer(t, reply(200, "ok"))
	for _, tt := range []struct {
		p        *retry.Policy
		canceled bool
	}{{retry.MustNew(), true}, {retry.MustNew(retry.Deadline(0)), false}} {
		p := tt.p
		ctx, cancel := context.WithCancel(context.Background())
		if tt.canceled {
			cancel()
		}
		defer cancel()
		body := &closeCounter{Reader: strings.NewReader("x")}
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, srv.URL, body)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := retryhttp.NewTransport(nil, p).RoundTrip(req)
		if resp != nil || err == nil || body.closed != 1 || len(srv.requests()) != 0 {
			t.Errorf("RoundTrip = %v, %v, body closed %d times, %d requests; want an error, the body closed once, no request",
				resp, err, body.closed, len(srv.requests()))
		}
	}
}

// TestConcurrent: one Transport serves concurrent calls of several names, each with its
// own attempts.
func TestConcurrent(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Retry-Attempt") == "" {
			reply(503, "first")(w, r)
			return
		}
		reply(200, r.Header.Get("X-Caller"))(w, r)
	})
	var rec record
	tr := retryhttp.NewTransport(nil, retry.MustNew(retry.MaxTries(3), rec.hooks()),
		retryhttp.AttemptHeader("X-Retry-Attempt"),
		retryhttp.OperationName(func(r *http.Request) string { return "op " + r.Header.Get("X-Caller") }))
	defer tr.CloseIdleConnections()
	const goroutines, calls = 8, 20
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			caller := strconv.Itoa(g % 3)
			for range calls {
				req := newGet(t, context.Background(), srv.URL)
				req.Header.Set("X-Caller", caller)
				resp, err := tr.RoundTrip(req)
				if err != nil {
					t.Error(err)
					return
				}
				if body := readBody(t, resp); resp.StatusCode != 200 || body != caller {
					t.Errorf("caller %s got %d %q", caller, resp.StatusCode, body)
				}
			}
		})
	}
	wg.Wait()
	if n := len(srv.requests()); n != 2*goroutines*calls {
		t.Errorf("%d requests, want %d", n, 2*goroutines*calls)
	}
	names := map[string]int{}
	for _, n := range rec.names {
		names[n]++
	}
	if len(names) != 3 || names["op 0"] != 3*calls || names["op 1"] != 3*calls || names["op 2"] != 2*calls {
		t.Errorf("calls by name %v", names)
	}
}

// TestErrorTypes: the attempt errors the policy sees name the failure for telemetry, never
// a wrapper of the package.
func TestErrorTypes(t *testing.T) {
	type typed interface{ ErrorType() string }
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	client := &http.Client{}
	defer client.CloseIdleConnections()
	for _, tt := range []struct {
		name string
		next http.RoundTripper
		url  string
		want string
	}{
		{"status", nil, newServer(t, reply(503, "")).URL, "503"},
		{"body cut short", nil, newServer(t, raw("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 100\r\n\r\nshort")).URL, "*errors.errorString"},
		{"next's *url.Error", roundTripFunc(func(r *http.Request) (*http.Response, error) { return client.Do(r) }),
			"http://" + closed + "/?q=1", "*url.Error"},
	} {
		var rec record
		tr := retryhttp.NewTransport(tt.next, retry.MustNew(retry.MaxTries(1), rec.hooks()))
		resp, _ := tr.RoundTrip(newGet(t, context.Background(), tt.url))
		if resp != nil {
			readBody(t, resp)
		}
		e, ok := rec.errs[0].(typed)
		if !ok || e.ErrorType() != tt.want {
			t.Errorf("%s: attempt error %T %v has error type %q, want %q", tt.name, rec.errs[0], rec.errs[0], e.ErrorType(), tt.want)
		}
		tr.CloseIdleConnections()
	}
}
