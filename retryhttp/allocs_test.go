package retryhttp_test

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/retrykit/retrykit/retry"
	"github.com/retrykit/retrykit/retryhttp"
)

// TestAllocs: a first-try GET through a Transport allocates at most 3 objects more than
// through the bare http.Transport below it, and naming the call allocates nothing: the
// policy of each name is derived once.
func TestAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("measures allocations over real requests")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	measure := func(rt http.RoundTripper, req *http.Request) float64 {
		get := func() {
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		get() // dial outside the count
		return testing.AllocsPerRun(300, get)
	}
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	get := newGet(t, context.Background(), srv.URL)
	bare := measure(base, get)
	var first float64
	for _, tt := range []struct {
		name string
		tr   *retryhttp.Transport
		req  *http.Request
	}{
		{"HTTP GET", retryhttp.NewTransport(base, retry.MustNew(retry.MaxTries(3))), get},
		{"HTTP PROPFIND", retryhttp.NewTransport(base, retry.MustNew(retry.MaxTries(3))), func() *http.Request {
			r := newGet(t, context.Background(), srv.URL)
			r.Method = "PROPFIND"
			return r
		}()},
		{"policy Name", retryhttp.NewTransport(base, retry.MustNew(retry.MaxTries(3), retry.Name("inventory"))), get},
		{"OperationName", retryhttp.NewTransport(base, retry.MustNew(retry.MaxTries(3)),
			retryhttp.OperationName(func(*http.Request) string { return "inventory" })), get},
	} {
		ours := measure(tt.tr, tt.req)
		if tt.req != get {
			// Another method is another request: compare with its own bare cost.
			ours -= measure(base, tt.req) - bare
		}
		slack := 0.0
		if raceEnabled {
			slack = 1 // see raceEnabled: only the bound below is checked, one allocation looser
		}
		if first == 0 {
			first = ours
		} else if !raceEnabled && math.Round(ours) != math.Round(first) {
			t.Errorf("%s: %.1f allocs per call, named %q: %.1f; the name costs allocations", tt.name, ours, "HTTP GET", first)
		}
		if extra := math.Round(ours - bare); extra > 3+slack {
			t.Errorf("%s: %.1f allocs per call, %.0f more than the bare transport's %.1f; want at most 3", tt.name, ours, extra, bare)
		}
	}
}
