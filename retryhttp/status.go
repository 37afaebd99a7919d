package retryhttp

import (
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// statusSet is a set of status codes 100 to 599, one bit each.
type statusSet [10]uint64

func (s *statusSet) add(code int) { s[code/64] |= 1 << (code % 64) }
func (s *statusSet) has(code int) bool {
	return code >= 0 && code < 640 && s[code/64]&(1<<(code%64)) != 0
}

// defaultStatuses are the statuses that say "try again": the server timed out waiting
// for the request (408), asks to slow down (429), failed (500), or a gateway could not
// reach it (502, 503, 504). 501 Not Implemented and the other 5xx will not change.
var defaultStatuses = func() statusSet {
	var s statusSet
	for _, code := range []int{
		http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout,
	} {
		s.add(code)
	}
	return s
}()

// StatusError is the error of an attempt answered with a retryable status: what the
// retry policy's hooks, filters and telemetry see for it. The caller of RoundTrip gets
// the response itself, not this error.
type StatusError struct {
	// Response is the attempt's response. Its body is the Transport's to drain and
	// close: read it only from a hook, and only its headers.
	Response *http.Response

	method string
	url    string // without query, fragment and userinfo
	wait   time.Duration
	// tooLong: the server asked for a wait longer than RetryAfterLimit.
	tooLong bool
}

func newStatusError(req *http.Request, resp *http.Response, wait time.Duration) *StatusError {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	return &StatusError{Response: resp, method: method, url: redactURL(req.URL), wait: wait}
}

// Error describes the attempt as "GET https://host/path: 503 Service Unavailable",
// without the URL's query or userinfo (they often hold credentials).
func (e *StatusError) Error() string {
	status := ""
	if e.Response != nil {
		status = e.Response.Status
		if status == "" {
			status = strconv.Itoa(e.Response.StatusCode) + " " + http.StatusText(e.Response.StatusCode)
		}
	}
	return e.method + " " + e.url + ": " + status
}

// ErrorType returns the status code, e.g. "503": the error.type of a failed HTTP request
// in the OpenTelemetry semantic conventions.
func (e *StatusError) ErrorType() string {
	if e.Response == nil {
		return "_OTHER"
	}
	return strconv.Itoa(e.Response.StatusCode)
}

// RetryAfter returns the wait the response's Retry-After header asked for (0 without
// one): the retry policy pauses at least that long before the next attempt.
func (e *StatusError) RetryAfter() time.Duration { return e.wait }

// redactURL is u as errors may show it: scheme, host and path only.
func redactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath, Opaque: u.Opaque}
	if r.Opaque != "" {
		// An opaque URL may carry anything, userinfo included: keep only its scheme.
		r.Opaque = ""
	}
	return r.String()
}
