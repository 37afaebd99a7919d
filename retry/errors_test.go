package retry

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retrykit/hooks"
)

type codeError struct{ code int }

func (e *codeError) Error() string { return fmt.Sprintf("code %d", e.code) }

// TestErrorMatrix checks the Errors table of the package documentation: what errors.Is holds for, per way of ending.
func TestErrorMatrix(t *testing.T) {
	const ms = time.Millisecond
	all := []error{ErrExhausted, ErrDeadline, ErrAttemptTimeout, ErrGaveUp, ErrPermanent, ErrThrottled,
		context.DeadlineExceeded, context.Canceled, errValue, errOther}
	tests := []struct {
		name    string
		opts    []Option
		cancel  time.Duration // cancel the caller's context after this long, if > 0
		fn      func(ctx context.Context, n int) error
		outcome hooks.Outcome
		is      []error // what errors.Is must hold for; every other of all must not match
		msg     string
	}{
		{
			name:    "exhausted",
			opts:    []Option{MaxTries(2)},
			fn:      func(context.Context, int) error { return errValue },
			outcome: hooks.Exhausted,
			is:      []error{ErrExhausted, errValue},
			msg:     "retry op: exhausted after 2 attempts: ValueError: RETRY",
		},
		{
			name:    "exhausted by a timeout",
			opts:    []Option{MaxTries(2), AttemptTimeout(10 * ms)},
			fn:      func(ctx context.Context, _ int) error { return work(ctx, time.Hour, nil) },
			outcome: hooks.Exhausted,
			is:      []error{ErrExhausted, ErrAttemptTimeout, context.DeadlineExceeded},
			msg:     "retry op: exhausted after 2 attempts (last attempt timed out): context deadline exceeded",
		},
		{
			name: "exhausted by a timeout that fn reported its own way",
			opts: []Option{MaxTries(1), AttemptTimeout(10 * ms)},
			fn: func(ctx context.Context, _ int) error {
				<-ctx.Done()
				return errOther
			},
			outcome: hooks.Exhausted,
			is:      []error{ErrExhausted, ErrAttemptTimeout, context.DeadlineExceeded, errOther},
			msg:     "retry op: exhausted after 1 attempt (last attempt timed out): TestExc",
		},
		{
			name: "deadline keeps the error it did not cause",
			opts: []Option{Deadline(25 * ms)},
			fn: func(ctx context.Context, n int) error {
				if n == 1 {
					return work(ctx, 10*ms, errValue)
				}
				return work(ctx, time.Hour, nil)
			},
			outcome: hooks.Deadline,
			is:      []error{ErrDeadline, context.DeadlineExceeded, errValue},
			msg:     "retry op: deadline exceeded after 2 attempts: ValueError: RETRY",
		},
		{
			name:    "deadline before any attempt error",
			opts:    []Option{Deadline(25 * ms)},
			fn:      func(ctx context.Context, n int) error { return work(ctx, time.Hour, nil) },
			outcome: hooks.Deadline,
			is:      []error{ErrDeadline, context.DeadlineExceeded},
			msg:     "retry op: deadline exceeded after 1 attempt",
		},
		{
			name:    "deadline instead of a pause past it",
			opts:    []Option{Deadline(25 * ms), Pause(20 * ms)},
			fn:      func(ctx context.Context, n int) error { return work(ctx, 10*ms, errValue) },
			outcome: hooks.Deadline,
			is:      []error{ErrDeadline, context.DeadlineExceeded, errValue},
			msg:     "retry op: deadline exceeded after 1 attempt: ValueError: RETRY",
		},
		{
			name:   "canceled keeps the error it did not cause",
			cancel: 15 * ms,
			fn: func(ctx context.Context, n int) error {
				if n == 1 {
					return work(ctx, 10*ms, errValue)
				}
				return work(ctx, time.Hour, nil)
			},
			outcome: hooks.Canceled,
			is:      []error{context.Canceled, errValue},
			msg:     "retry op: canceled after 2 attempts: ValueError: RETRY",
		},
		{
			name:    "gave up",
			opts:    []Option{GiveUp(func(err error) bool { return errors.Is(err, errOther) })},
			fn:      func(_ context.Context, n int) error { return []error{errValue, errOther}[min(n, 2)-1] },
			outcome: hooks.GaveUp,
			is:      []error{ErrGaveUp, errOther},
			msg:     "retry op: gave up after 2 attempts: TestExc",
		},
		{
			name:    "not retryable by the filter",
			opts:    []Option{On(errValue)},
			fn:      func(context.Context, int) error { return errOther },
			outcome: hooks.Permanent,
			is:      []error{ErrPermanent, errOther},
			msg:     "retry op: permanent error after 1 attempt: TestExc",
		},
		{
			name:    "marked Permanent through wrapping",
			fn:      func(context.Context, int) error { return fmt.Errorf("fetch: %w", Permanent(errValue)) },
			outcome: hooks.Permanent,
			is:      []error{ErrPermanent, errValue},
			msg:     "retry op: permanent error after 1 attempt: fetch: ValueError: RETRY",
		},
		{
			name: "Permanent wins over an attempt timeout",
			opts: []Option{AttemptTimeout(10 * ms)},
			fn: func(ctx context.Context, _ int) error {
				<-ctx.Done()
				return Permanent(errOther)
			},
			outcome: hooks.Permanent,
			is:      []error{ErrPermanent, errOther},
			msg:     "retry op: permanent error after 1 attempt: TestExc",
		},
		{
			name:    "throttled",
			opts:    []Option{Throttle(NewBudget(0, 0))},
			fn:      func(context.Context, int) error { return errValue },
			outcome: hooks.Throttled,
			is:      []error{ErrThrottled, errValue},
			msg:     "retry op: retry throttled after 1 attempt: ValueError: RETRY",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := t.Context()
				if tc.cancel > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithCancel(ctx)
					defer cancel()
					time.AfterFunc(tc.cancel, cancel)
				}
				p := MustNew(append(tc.opts, Name("op"))...)
				n := 0
				err := p.Do(ctx, func(ctx context.Context) error { n++; return tc.fn(ctx, n) })
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("err = %#v, want a *retry.Error", err)
				}
				if e.Outcome != tc.outcome || e.Attempts != n {
					t.Errorf("Outcome %v, Attempts %d; want %v, %d", e.Outcome, e.Attempts, tc.outcome, n)
				}
				for _, target := range all {
					want := false
					for _, w := range tc.is {
						want = want || w == target
					}
					if got := errors.Is(err, target); got != want {
						t.Errorf("errors.Is(err, %v) = %v, want %v", target, got, want)
					}
				}
				if got := err.Error(); got != tc.msg {
					t.Errorf("message:\n got %q\nwant %q", got, tc.msg)
				}
				if e.ErrorType() != tc.outcome.String() {
					t.Errorf("ErrorType() = %q, want %q", e.ErrorType(), tc.outcome)
				}
			})
		})
	}
}

// TestErrorAs: errors.As finds the attempts' own error types through *Error.
func TestErrorAs(t *testing.T) {
	err := Times(2).Do(context.Background(), func(context.Context) error { return &codeError{503} })
	var ce *codeError
	if !errors.As(err, &ce) || ce.code != 503 {
		t.Fatalf("errors.As(%v, *codeError) failed", err)
	}
	if e := err.(*Error); e.Last != error(ce) {
		t.Errorf("Last = %v, want the attempt's error", e.Last)
	}
}

// TestErrorLastCausedByDeadline: Last is the last attempt's error even when the deadline
// caused it, while errors.Is reaches the earlier one.
func TestErrorLastCausedByDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := 0
		err := MustNew(Deadline(time.Second)).Do(t.Context(), func(ctx context.Context) error {
			if n++; n == 1 {
				return errValue
			}
			return work(ctx, time.Hour, nil)
		})
		e := err.(*Error)
		if e.Last != context.DeadlineExceeded || !errors.Is(err, errValue) {
			t.Errorf("Last = %v (want context.DeadlineExceeded), errors.Is(errValue) = %v", e.Last, errors.Is(err, errValue))
		}
	})
}

func TestPermanent(t *testing.T) {
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
	err := Permanent(errValue)
	if !errors.Is(err, ErrPermanent) || !errors.Is(err, errValue) || err.Error() != errValue.Error() {
		t.Errorf("Permanent(errValue) = %v: must match ErrPermanent and errValue and keep the message", err)
	}
	n := 0
	_ = Times(5).Do(context.Background(), func(context.Context) error { n++; return Permanent(errValue) })
	if n != 1 {
		t.Errorf("a Permanent error was retried: %d attempts", n)
	}
}

// TestFilters: On, OnType and If add up to one filter.
func TestFilters(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		err  error
		want bool // retried
	}{
		{"no filter retries all", nil, errOther, true},
		{"On matches", []Option{On(errValue)}, fmt.Errorf("wrapped: %w", errValue), true},
		{"On misses", []Option{On(errValue)}, errOther, false},
		{"OnType matches", []Option{OnType[*codeError]()}, fmt.Errorf("x: %w", &codeError{1}), true},
		{"OnType misses", []Option{OnType[*codeError]()}, errOther, false},
		{"If matches", []Option{If(func(err error) bool { return err == errOther })}, errOther, true},
		{"If misses", []Option{If(func(error) bool { return false })}, errOther, false},
		{"any of several", []Option{On(errValue), OnType[*codeError](), If(func(err error) bool { return err == errOther })}, errOther, true},
		{"none of several", []Option{On(errValue), OnType[*codeError]()}, errOther, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			err := Times(2, tc.opts...).Do(context.Background(), func(context.Context) error { n++; return tc.err })
			if retried := n == 2; retried != tc.want {
				t.Errorf("%d attempts (err %v), want retried = %v", n, err, tc.want)
			}
			if !tc.want && !errors.Is(err, ErrPermanent) {
				t.Errorf("err = %v, want ErrPermanent", err)
			}
		})
	}
}

// TestThrottleRefundsRetryNotMade: a retry the budget allowed (rule 6) but the deadline
// then cancelled (rule 7) goes back to the budget.
func TestThrottleRefundsRetryNotMade(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(0, 1) // a reserve of 10 retries per 10 s window, no ratio
		late := MustNew(Throttle(b), Deadline(10*time.Millisecond), Pause(20*time.Millisecond))
		for range 3 {
			if err := late.Do(t.Context(), func(context.Context) error { return errValue }); !errors.Is(err, ErrDeadline) {
				t.Fatalf("err = %v, want the deadline rule", err)
			}
		}
		n := 0
		err := Times(100, Throttle(b)).Do(t.Context(), func(context.Context) error { n++; return errValue })
		if n != 11 || !errors.Is(err, ErrThrottled) {
			t.Errorf("%d attempts, err %v; want 1 + the 10 retries of the reserve, then throttled", n, err)
		}
	})
}

type typedError struct{}

func (typedError) Error() string     { return "typed" }
func (typedError) ErrorType() string { return "custom_type" }

// The engine's wrappers never show their own unexported types to telemetry.
func TestWrapperErrorType(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{Permanent(&codeError{1}), "*retry.codeError"},
		{Permanent(fmt.Errorf("a: %w", fmt.Errorf("b: %w", &codeError{1}))), "*retry.codeError"},
		{Permanent(fmt.Errorf("a: %w", typedError{})), "custom_type"},
		{WithRetryAfter(&codeError{1}, time.Second), "*retry.codeError"},
		{WithRetryAfter(fmt.Errorf("a: %w", typedError{}), time.Second), "custom_type"},
		{WithRetryAfter(errors.New("plain"), time.Second), "*errors.errorString"},
		{Permanent(WithRetryAfter(typedError{}, time.Second)), "custom_type"},
	} {
		et, ok := tc.err.(interface{ ErrorType() string })
		if !ok || et.ErrorType() != tc.want {
			t.Errorf("ErrorType of %v: want %q", tc.err, tc.want)
		}
	}
}
