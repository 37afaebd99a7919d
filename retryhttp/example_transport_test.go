package retryhttp_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	"github.com/retrykit/retrykit/retry"
	"github.com/retrykit/retrykit/retryhttp"
)

// flaky is a service that answers 503 to its first n requests, then 200.
func flaky(n int32) *httptest.Server {
	var calls atomic.Int32
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= n {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %q resend %q", r.Method, r.URL.Path, body, r.Header.Get("X-Retry-Attempt"))
	}))
}

func ExampleNewClient() {
	srv := flaky(2)
	defer srv.Close()

	policy := retry.MustNew(retry.MaxTries(4), retry.Deadline(10*time.Second),
		retry.PauseWith(retry.FullJitter(retry.Exponential(100*time.Millisecond, 2, 2*time.Second))))
	client := retryhttp.NewClient(policy)
	defer client.CloseIdleConnections()

	resp, err := client.Get(srv.URL + "/items/42")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, string(body))
	// Output: 200 OK GET /items/42 "" resend ""
}

func ExampleNewTransport() {
	srv := flaky(1)
	defer srv.Close()

	base := &http.Transport{}
	defer base.CloseIdleConnections()
	tr := retryhttp.NewTransport(base, retry.MustNew(retry.MaxTries(3)),
		retryhttp.AttemptHeader("X-Retry-Attempt"), // the server can tell a resend
		retryhttp.RetryAfterLimit(30*time.Second),  // a longer wait ends the call
	)
	// A POST is sent again only with an idempotency key; its body is replayed.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/orders", strings.NewReader(`{"item":42}`))
	req.Header.Set("Idempotency-Key", "order-7")
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, string(body))
	// Output: 200 OK POST /orders "{\"item\":42}" resend "1"
}

func ExampleAttempt() {
	srv := flaky(2)
	defer srv.Close()

	base := &http.Transport{}
	defer base.CloseIdleConnections()
	// The RoundTripper below a Transport sees the attempt number in the request's context.
	logged := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := base.RoundTrip(r)
		if err == nil {
			fmt.Println("attempt", retryhttp.Attempt(r.Context()), resp.Status)
		}
		return resp, err
	})
	tr := retryhttp.NewTransport(logged, retry.MustNew(retry.MaxTries(3)))
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	// Output:
	// attempt 1 503 Service Unavailable
	// attempt 2 503 Service Unavailable
	// attempt 3 200 OK
}

func ExampleStatusError() {
	srv := flaky(10)
	defer srv.Close()

	var attemptErrs []error
	policy := retry.MustNew(retry.MaxTries(2), retry.If(func(err error) bool {
		attemptErrs = append(attemptErrs, err) // what the policy judges
		return true
	}))
	tr := retryhttp.NewTransport(nil, policy)
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL + "/items?token=secret")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	// The call gave up on a response: the caller gets it, the policy saw the error.
	fmt.Println(resp.StatusCode, strings.Replace(attemptErrs[0].Error(), srv.URL, "http://service", 1))
	// Output: 503 GET http://service/items: 503 Service Unavailable
}
