package retryhttp_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/retrykit/retrykit/retry"
	"github.com/retrykit/retrykit/retryhttp"
)

// BenchmarkFirstTry is a keep-alive GET on loopback answered 200 at once, through a bare
// http.Transport and through a Transport over one, with a policy that hedges or not.
func BenchmarkFirstTry(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	for _, tt := range []struct {
		name string
		rt   func(*http.Transport) http.RoundTripper
	}{
		{"bare", func(t *http.Transport) http.RoundTripper { return t }},
		{"retryhttp", func(t *http.Transport) http.RoundTripper {
			return retryhttp.NewTransport(t, retry.MustNew(retry.MaxTries(3)))
		}},
		{"retryhttp-hedging", func(t *http.Transport) http.RoundTripper {
			return retryhttp.NewTransport(t, retry.MustNew(retry.MaxTries(3), retry.HedgeAfter(time.Second)))
		}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			base := &http.Transport{}
			defer base.CloseIdleConnections()
			rt := tt.rt(base)
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			b.ReportAllocs()
			for b.Loop() {
				resp, err := rt.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
