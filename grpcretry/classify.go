package grpcretry

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/retrykit/retrykit/retry"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

// pushbackKey is the trailer of gRFC A6 in which a server asks for a pause before the
// next attempt, in milliseconds, or for none at all (a negative or malformed value).
const pushbackKey = "grpc-retry-pushback-ms"

// judge turns the error of a failed attempt into what the attempt function returns to
// the engine: the attempt error as it is when the engine may retry it, marked Permanent
// when it must not, with the server's pushback as its delay hint. ctx is the attempt's
// context as the engine made it; trailer is the attempt's trailer metadata (nil when
// none arrived).
func (c *config) judge(ctx context.Context, err error, trailer metadata.MD) error {
	ae := newAttemptError(err)
	code := ae.st.Code()
	if (code == codes.DeadlineExceeded || code == codes.Canceled) && endedByContext(ctx, code) {
		// The attempt's timeout, the call's deadline or the caller's cancellation ended
		// the attempt: the engine knows which, and applies its rules (an attempt timeout
		// is retried, the others end the call).
		return ae
	}
	if !c.isRetryable(code) {
		return retry.Permanent(ae)
	}
	vs, ok := trailer[pushbackKey]
	if !ok {
		return ae
	}
	d, ok := parsePushback(vs)
	if !ok {
		return retry.Permanent(fmt.Errorf("grpcretry: server pushback %s=%q stops the retries: %w", pushbackKey, vs, ae))
	}
	return retry.WithRetryAfter(ae, d)
}

// endedByContext reports whether the attempt's context caused an attempt to fail with
// code. The context's error says so once its timer has run; the clock says so before
// that: with the deadline propagated, the server's own DeadlineExceeded can arrive first.
func endedByContext(ctx context.Context, code codes.Code) bool {
	if ctx.Err() != nil {
		return true
	}
	if code != codes.DeadlineExceeded {
		return false
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// parsePushback reads the pushback trailer as grpc-go does: exactly one value, a
// non-negative decimal integer of milliseconds. ok is false for anything else, which
// means "do not retry".
func parsePushback(vs []string) (d time.Duration, ok bool) {
	if len(vs) != 1 {
		return 0, false
	}
	ms, err := strconv.Atoi(vs[0])
	if err != nil || ms < 0 {
		return 0, false
	}
	if ms > math.MaxInt64/int(time.Millisecond) {
		return math.MaxInt64, true // longer than any deadline: the engine ends the call at once
	}
	return time.Duration(ms) * time.Millisecond, true
}
