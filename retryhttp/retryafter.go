package retryhttp

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/retrykit/retrykit/retry"
)

// MaxRetryAfter is the longest wait this package accepts from a server: one day. A longer
// one is far more likely a mistake (a date with the wrong year, a value in milliseconds)
// than a real request, and no retry loop should wait on it; ParseRetryAfter refuses it
// with ErrRange, and RetryAfter and WithRetryAfter ignore it.
const MaxRetryAfter = 24 * time.Hour

// The errors ParseRetryAfter returns wrap one of these, for errors.Is.
var (
	// ErrSyntax: the value is neither delta-seconds (a number of seconds, digits only)
	// nor an HTTP-date.
	ErrSyntax = errors.New("neither delta-seconds nor an HTTP-date")
	// ErrRange: the value is well formed but negative or longer than MaxRetryAfter.
	ErrRange = errors.New("out of range")
)

// ParseRetryAfter parses the value of a Retry-After header and returns the wait it asks
// for, relative to now. Both forms of RFC 9110 are accepted:
//
//   - delta-seconds, digits only ("120"): that many seconds;
//   - an HTTP-date in any of the three formats of http.ParseTime
//     ("Wed, 21 Oct 2015 07:28:00 GMT"): the time from now until then, or 0 for a date
//     that has passed (the server's clock may be behind: it means "retry now").
//
// Surrounding spaces and tabs are ignored. Anything else is an error that wraps ErrSyntax,
// fractions ("1.5") and signs ("+5") included. A negative number of seconds, or a wait
// longer than MaxRetryAfter, is an error that wraps ErrRange. It never panics.
func ParseRetryAfter(value string, now time.Time) (time.Duration, error) {
	v := strings.Trim(value, " \t")
	if v == "" {
		return 0, parseError(value, ErrSyntax)
	}
	if digits := strings.TrimPrefix(v, "-"); digits != "" && allDigits(digits) {
		if len(digits) < len(v) {
			return 0, parseError(value, fmt.Errorf("%w: a negative wait", ErrRange))
		}
		return parseSeconds(value, digits)
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, parseError(value, ErrSyntax)
	}
	d := t.Sub(now)
	switch {
	case d < 0:
		return 0, nil
	case d > MaxRetryAfter:
		return 0, parseError(value, fmt.Errorf("%w: %v from now is longer than %v", ErrRange, d, MaxRetryAfter))
	}
	return d, nil
}

// parseSeconds reads delta-seconds, refusing more than MaxRetryAfter before the number
// can overflow.
func parseSeconds(value, digits string) (time.Duration, error) {
	const maxSeconds = int64(MaxRetryAfter / time.Second)
	var n int64
	for i := 0; i < len(digits); i++ {
		n = n*10 + int64(digits[i]-'0')
		if n > maxSeconds {
			return 0, parseError(value, fmt.Errorf("%w: longer than %v", ErrRange, MaxRetryAfter))
		}
	}
	return time.Duration(n) * time.Second, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseError wraps err with the header value, quoted and shortened so that a hostile
// header cannot make a log line of any size.
func parseError(value string, err error) error {
	const maxShown = 64
	if len(value) > maxShown {
		value = value[:maxShown] + "..."
	}
	return fmt.Errorf("retryhttp: Retry-After %q: %w", value, err)
}

// RetryAfter returns the wait that resp's Retry-After header asks for, and whether it has
// a valid one (see ParseRetryAfter; an invalid or out-of-range value counts as none). It
// does not look at the status code: servers send the header with 503 and 429, and with
// redirections, and the caller knows which of them it retries.
//
// An HTTP-date is measured from the response's own Date header when that is valid, so
// that the wait does not depend on how far the server's clock is from this machine's;
// without one it is measured from time.Now.
func RetryAfter(resp *http.Response) (time.Duration, bool) {
	if resp == nil {
		return 0, false
	}
	value := resp.Header.Get("Retry-After")
	if value == "" {
		return 0, false
	}
	now, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		now = time.Now()
	}
	d, err := ParseRetryAfter(value, now)
	if err != nil {
		return 0, false
	}
	return d, true
}

// WithRetryAfter returns err carrying the wait of resp's Retry-After header as a delay
// hint (retry.WithRetryAfter), or err unchanged when resp has no valid Retry-After. The
// retry policy then pauses at least that long before the next attempt. It returns nil
// when err is nil.
func WithRetryAfter(err error, resp *http.Response) error {
	if err == nil {
		return nil
	}
	if d, ok := RetryAfter(resp); ok {
		return retry.WithRetryAfter(err, d)
	}
	return err
}
