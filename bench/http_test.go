package bench

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/failsafe-go/failsafe-go/failsafehttp"
	"github.com/hashicorp/go-retryablehttp"

	"github.com/retrykit/retrykit/retry"
	"github.com/retrykit/retrykit/retryhttp"
)

// Scenario F: a GET over a keep-alive connection to an HTTP server on loopback, through
// a bare http.Transport and through each retrying RoundTripper over one. Every library
// runs at most maxTries attempts with no pause.

// An httpLib builds a library's RoundTripper over base once.
type httpLib struct {
	name string
	wrap func(base *http.Transport) http.RoundTripper
}

var httpLibs = []httpLib{
	{"bare", func(base *http.Transport) http.RoundTripper { return base }},
	{"retrykit", func(base *http.Transport) http.RoundTripper {
		return retryhttp.NewTransport(base, retry.MustNew(retry.MaxTries(maxTries)))
	}},
	{"retryablehttp", func(base *http.Transport) http.RoundTripper {
		c := retryablehttp.NewClient()
		c.HTTPClient = &http.Client{Transport: base}
		c.RetryMax = maxTries - 1
		c.RetryWaitMin, c.RetryWaitMax = 0, 0
		c.Logger = nil
		return &retryablehttp.RoundTripper{Client: c}
	}},
	{"failsafe", func(base *http.Transport) http.RoundTripper {
		return failsafehttp.NewRoundTripper(base,
			failsafehttp.NewRetryPolicyBuilder().WithMaxAttempts(maxTries).WithDelay(0).Build())
	}},
}

// httpServer answers "ok", or, with failures > 0, answers 503 to the first failures
// requests of every failures+1: calls that make failures+1 attempts each, one at a
// time, see 503, 503, 200.
type httpServer struct {
	*httptest.Server
	failures int
	requests atomic.Int64
	conns    atomic.Int64
}

func newHTTPServer(tb testing.TB, failures int) *httpServer {
	s := &httpServer{failures: failures}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := s.requests.Add(1)
		if s.failures > 0 && (n-1)%int64(s.failures+1) < int64(s.failures) {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "unavailable")
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	tb.Cleanup(s.Close)
	return s
}

// httpCalls makes n calls through l and checks that each got the 200 after
// failures+1 requests, all over one connection.
func httpCalls(tb testing.TB, l httpLib, failures int, loop func(call func())) {
	srv := newHTTPServer(tb, failures)
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	rt := l.wrap(base)
	ctx := context.Background()
	if l.name == "failsafe" && failures > 0 {
		// failsafehttp never closes the responses it retries: their connections wait
		// for a reader until the request's context ends, two goroutines each.
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if err != nil {
		tb.Fatal(err)
	}
	calls, bad := 0, 0
	loop(func() {
		calls++
		resp, err := rt.RoundTrip(req)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			tb.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			bad++
		}
	})
	if b, ok := tb.(*testing.B); ok && calls > 0 {
		// What keep-alive saves: a library that does not drain a retried response
		// dials a new connection for the next attempt.
		b.ReportMetric(float64(srv.conns.Load())/float64(calls), "dials/op")
	}
	if l.name == "bare" && failures > 0 {
		return // no retries: the server's script is not followed
	}
	if bad != 0 || srv.requests.Load() != int64(calls*(failures+1)) {
		tb.Fatalf("%s: %d calls, %d not 200, %d requests; want every call 200 after %d requests",
			l.name, calls, bad, srv.requests.Load(), failures+1)
	}
	// A request can start before the transport has put the connection that a body just
	// released back in its pool: it dials, and the other connection serves it. That
	// race costs a connection now and then; an undrained response costs one each time.
	if l.name == "retrykit" && srv.conns.Load() > 2+int64(calls)/50 {
		tb.Fatalf("retrykit: %d connections for %d calls; want them kept alive through the retries", srv.conns.Load(), calls)
	}
}

// BenchmarkF_HTTPFirstTry: a keep-alive GET on loopback answered 200 at once.
func BenchmarkF_HTTPFirstTry(b *testing.B) {
	for _, l := range httpLibs {
		b.Run("lib="+l.name, func(b *testing.B) {
			httpCalls(b, l, 0, func(call func()) {
				b.ReportAllocs()
				for b.Loop() {
					call()
				}
			})
		})
	}
}

// BenchmarkF_HTTPTwo503s: 503, 503, then 200, with no pause. retrykit drains the
// retried responses, so that all three attempts share one connection (dials/op shows
// who does not).
func BenchmarkF_HTTPTwo503s(b *testing.B) {
	for _, l := range httpLibs[1:] {
		b.Run("lib="+l.name, func(b *testing.B) {
			httpCalls(b, l, 2, func(call func()) {
				b.ReportAllocs()
				for b.Loop() {
					call()
				}
			})
		})
	}
}

func TestF_HTTP(t *testing.T) {
	for _, l := range httpLibs {
		for _, failures := range []int{0, 2} {
			httpCalls(t, l, failures, func(call func()) {
				for range 20 {
					call()
				}
			})
		}
	}
}
