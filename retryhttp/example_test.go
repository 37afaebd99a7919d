package retryhttp_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/retrykit/retrykit/retry"
	"github.com/retrykit/retrykit/retryhttp"
)

func ExampleParseRetryAfter() {
	now := time.Date(2015, time.October, 21, 7, 27, 0, 0, time.UTC)
	for _, value := range []string{"120", "Wed, 21 Oct 2015 07:28:00 GMT", "soon", "-1", "172800"} {
		d, err := retryhttp.ParseRetryAfter(value, now)
		fmt.Println(d, err)
	}
	// Output:
	// 2m0s <nil>
	// 1m0s <nil>
	// 0s retryhttp: Retry-After "soon": neither delta-seconds nor an HTTP-date
	// 0s retryhttp: Retry-After "-1": out of range: a negative wait
	// 0s retryhttp: Retry-After "172800": out of range: longer than 24h0m0s
}

func ExampleRetryAfter() {
	resp := &http.Response{
		StatusCode: http.StatusServiceUnavailable,
		Header: http.Header{
			"Date":        {"Wed, 21 Oct 2015 07:27:00 GMT"},
			"Retry-After": {"Wed, 21 Oct 2015 07:27:45 GMT"},
		},
	}
	// The date is measured from the server's own Date header.
	fmt.Println(retryhttp.RetryAfter(resp))
	// Output: 45s true
}

func ExampleWithRetryAfter() {
	// A server answers 503 and asks for two minutes; the call may take one second.
	resp := &http.Response{
		StatusCode: http.StatusServiceUnavailable,
		Status:     "503 Service Unavailable",
		Header:     http.Header{"Retry-After": {"120"}},
	}
	policy := retry.MustNew(retry.Deadline(time.Second), retry.Pause(100*time.Millisecond))
	err := policy.Do(context.Background(), func(context.Context) error {
		return retryhttp.WithRetryAfter(errors.New(resp.Status), resp)
	})
	// The pause would end after the deadline: the call ends at once, without waiting.
	fmt.Println(err)
	fmt.Println(errors.Is(err, retry.ErrDeadline))
	// Output:
	// retry: deadline exceeded after 1 attempt: 503 Service Unavailable
	// true
}
