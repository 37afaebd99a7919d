// Package retryhttp retries HTTP requests under a retry policy, and reads the delay
// hints of HTTP responses for package retry.
//
// [NewTransport] is an http.RoundTripper that sends every request through a
// retry.Policy: one attempt is one RoundTrip of the transport below it, and the policy's
// rules, limits, hooks and budget decide whether another one follows. It retries what
// is worth retrying (broken connections, 408, 429, 500, 502, 503, 504), only for
// requests that may be sent twice (idempotent methods or an Idempotency-Key header, and
// a body that GetBody can replay), waits what a Retry-After asks within limits, drains
// retried responses so that their connection is reused, and returns the last response
// whole when the call gives up on one:
//
//	policy := retry.MustNew(retry.MaxTries(4), retry.Deadline(10*time.Second),
//		retry.PauseWith(retry.FullJitter(retry.Exponential(100*time.Millisecond, 2, 2*time.Second))))
//	client := retryhttp.NewClient(policy)
//	resp, err := client.Get("https://inventory.example/items/42")
//
// A policy with a hedge option (retry.HedgeAfter, retry.HedgeAtQuantile) hedges the
// requests the Transport may retry: when an attempt has no response headers after the
// hedge delay, another request is sent while it runs, and the first success is the
// response returned. Every attempt sends a request of its own, with a fresh body from
// GetBody, its number in Attempt and AttemptHeader as for a resend; the responses of the
// attempts that lost are drained (up to 64 KiB) and closed before RoundTrip returns,
// their requests canceled. A request that may be sent only once is never hedged: it gets
// its one attempt under the policy without its hedge option.
//
// For code that runs its own loop, [WithRetryAfter] attaches the wait of a response's
// Retry-After header (RFC 9110, section 10.2.3) to the error an attempt returns, so that
// the policy pauses at least that long before the next attempt (and ends the call at
// once with outcome Deadline when the wait would outlast the call):
//
//	resp, err := client.Do(req)
//	if err != nil {
//		return err
//	}
//	defer resp.Body.Close()
//	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
//		return retryhttp.WithRetryAfter(errors.New(resp.Status), resp)
//	}
//
// The package imports only the standard library and package retry; package otelretry
// adds OpenTelemetry's http.request.resend_count to the spans of resends.
package retryhttp
