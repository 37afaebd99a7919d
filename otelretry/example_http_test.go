package otelretry_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/retrykit/retrykit/otelretry"
	"github.com/retrykit/retrykit/retry"
	"github.com/retrykit/retrykit/retryhttp"
)

// The HTTP recipe of the repository's README: a client whose requests are retried with
// backoff and jitter, that honours Retry-After, and whose every attempt is traced. Its
// lines between the markers are the README's, word for word (a test checks).
func ExampleResendCount() {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()
	defer http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	url := srv.URL

	// recipe
	policy := retry.MustNew(
		retry.MaxTries(4),
		retry.AttemptTimeout(2*time.Second), // up to the response headers
		retry.Deadline(10*time.Second),      // the whole call, pauses included
		retry.PauseWith(retry.FullJitter(retry.Exponential(100*time.Millisecond, 2, 2*time.Second))),
		retry.Hooks(otelretry.Hooks()), // a span per call and per attempt, retry metrics
	)
	client := &http.Client{Transport: retryhttp.NewTransport(
		otelhttp.NewTransport(otelretry.ResendCount(http.DefaultTransport)), policy)}

	// 408, 429, 5xx and broken connections are retried, Retry-After is honoured.
	resp, err := client.Get(url)
	// end of recipe
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, string(body), "after", calls.Load(), "requests")
	// Output: 200 OK ok after 2 requests
}
