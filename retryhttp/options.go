package retryhttp

import (
	"fmt"
	"net/http"
	"time"
)

// An Option configures a Transport. An invalid value makes NewTransport (and NewClient)
// panic with a message that names the option, e.g.
// "retryhttp: RetryAfterLimit(-1s): must not be negative": options are written in code,
// so a bad one is a programming error.
type Option func(*config)

// config is what the options set.
type config struct {
	statuses      statusSet
	anyMethod     bool
	retryAfterMax time.Duration
	attemptHeader string
	opName        func(*http.Request) string
	err           error // the first invalid option
}

// defaultRetryAfterLimit is the longest server wait honoured without RetryAfterLimit.
const defaultRetryAfterLimit = time.Minute

func newConfig(opts []Option) config {
	c := config{statuses: defaultStatuses, retryAfterMax: defaultRetryAfterLimit}
	for _, opt := range opts {
		if opt != nil {
			opt(&c)
		}
	}
	return c
}

func (c *config) fail(option string, value any, problem string) {
	if c.err == nil {
		c.err = fmt.Errorf("retryhttp: %s(%v): %s", option, value, problem)
	}
}

// RetryStatus sets the response statuses worth another attempt, replacing the default
// set: 408 Request Timeout, 429 Too Many Requests, 500 Internal Server Error, 502 Bad
// Gateway, 503 Service Unavailable and 504 Gateway Timeout. RetryStatus() with no code
// retries transport errors only. A code outside 100 to 599 is invalid.
func RetryStatus(codes ...int) Option {
	return func(c *config) {
		var s statusSet
		for _, code := range codes {
			if code < 100 || code > 599 {
				c.fail("RetryStatus", code, "not an HTTP status code (100 to 599)")
				return
			}
			s.add(code)
		}
		c.statuses = s
	}
}

// RetryAnyMethod lets requests of any method be attempted more than once. Without it only
// the idempotent methods of RFC 9110 (GET, HEAD, OPTIONS, TRACE, PUT, DELETE) and requests
// that carry an Idempotency-Key or X-Idempotency-Key header are: a POST that reached the
// server before its connection broke may have taken effect.
func RetryAnyMethod() Option {
	return func(c *config) { c.anyMethod = true }
}

// RetryAfterLimit sets the longest wait a server may ask for with Retry-After (default
// one minute). A retried response asking for more ends the call at once with outcome
// GaveUp, and RoundTrip returns that response: the caller, not the transport, decides
// whether to come back in an hour. d < 0 is invalid; 0 honours only "Retry-After: 0".
func RetryAfterLimit(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			c.fail("RetryAfterLimit", d, "must not be negative")
			return
		}
		c.retryAfterMax = d
	}
}

// AttemptHeader makes every resend carry the number of earlier attempts (1 on the first
// resend) in the header name, e.g. "X-Retry-Attempt", so that the server can tell a
// resend from a new request. The first attempt goes out without it. The name must be a
// valid header field name.
func AttemptHeader(name string) Option {
	return func(c *config) {
		if !validHeaderName(name) {
			c.fail("AttemptHeader", fmt.Sprintf("%q", name), "not a valid header field name")
			return
		}
		c.attemptHeader = http.CanonicalHeaderKey(name)
	}
}

// OperationName sets the name that hooks and telemetry give one RoundTrip: f(req). Keep
// it low-cardinality (a name per route or kind of request, never the URL). Without it
// the name is the policy's Name, or "HTTP <method>" when the policy has none. f must not
// be nil.
func OperationName(f func(*http.Request) string) Option {
	return func(c *config) {
		if f == nil {
			c.fail("OperationName", "nil", "needs a function")
			return
		}
		c.opName = f
	}
}
