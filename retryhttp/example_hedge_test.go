package retryhttp_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/retrykit/retrykit/retry"
	"github.com/retrykit/retrykit/retryhttp"
)

// A hedging policy makes the Transport hedge the requests it may retry: here the first
// request gets no answer, and the hedge sent 20ms later answers for the call.
func ExampleNewTransport_hedging() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Retry-Attempt") == "" {
			<-r.Context().Done() // a slow replica: the Transport cancels this request
			return
		}
		fmt.Fprintf(w, "answered by the hedge, resend %s", r.Header.Get("X-Retry-Attempt"))
	}))
	defer srv.Close()

	base := &http.Transport{}
	defer base.CloseIdleConnections()
	policy := retry.MustNew(retry.MaxTries(2), retry.HedgeAfter(20*time.Millisecond))
	client := &http.Client{Transport: retryhttp.NewTransport(base, policy, retryhttp.AttemptHeader("X-Retry-Attempt"))}

	resp, err := client.Get(srv.URL + "/items/42")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, string(body))
	// Output: 200 OK answered by the hedge, resend 1
}
