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

// The behaviours of aiomisc's own test suite for asyncbackoff / asyncretry
// (tests/test_backoff.py), ported one by one. The numbers in the comments number the
// behaviours in the order of that suite. Times are exact: synctest's clock only moves when
// every goroutine of the test waits on it.

// conformance runs fn under p in a bubble and returns the error, the attempts fn saw and
// the elapsed time.
func conformance(t *testing.T, p *Policy, fn func(ctx context.Context, attempt int) error) (err error, attempts int, elapsed time.Duration) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		var n counter
		start := time.Now()
		err = p.Do(t.Context(), func(ctx context.Context) error { return fn(ctx, n.add()) })
		elapsed, attempts = time.Since(start), n.count()
	})
	return err, attempts, elapsed
}

// checkIs fails unless errors.Is(err, target) is want for each target.
func checkIs(t *testing.T, err error, want map[error]bool) {
	t.Helper()
	for target, w := range want {
		if got := errors.Is(err, target); got != w {
			t.Errorf("errors.Is(%v, %v) = %v, want %v", err, target, got, w)
		}
	}
}

func outcomeOf(err error) hooks.Outcome {
	var e *Error
	if errors.As(err, &e) {
		return e.Outcome
	}
	return hooks.Success
}

func check(t *testing.T, err error, attempts int, elapsed time.Duration, wantOutcome hooks.Outcome, wantAttempts int, wantElapsed time.Duration) {
	t.Helper()
	if got := outcomeOf(err); got != wantOutcome {
		t.Errorf("outcome %v (err %v), want %v", got, err, wantOutcome)
	}
	if wantOutcome == hooks.Success && err != nil {
		t.Errorf("err = %v, want nil", err)
	}
	if attempts != wantAttempts {
		t.Errorf("%d attempts, want %d", attempts, wantAttempts)
	}
	if elapsed != wantElapsed {
		t.Errorf("elapsed %v, want %v", elapsed, wantElapsed)
	}
}

// 1, 4, 11: attempt_timeout == deadline; the call deadline wins, and a second call on the
// same policy starts afresh (aiomisc's per-call state bug #22).
func TestAiomiscKwargsAndTooLong(t *testing.T) {
	p := MustNew(AttemptTimeout(sec(0.5)), Deadline(sec(0.5)))
	for call := 1; call <= 2; call++ {
		err, n, el := conformance(t, p, func(ctx context.Context, _ int) error { return work(ctx, 5*time.Second, nil) })
		check(t, err, n, el, hooks.Deadline, 1, sec(0.5))
		checkIs(t, err, map[error]bool{ErrDeadline: true, context.DeadlineExceeded: true, ErrAttemptTimeout: false})
	}
}

// 2: five failures, then success.
func TestAiomiscSimple(t *testing.T) {
	p := MustNew(AttemptTimeout(sec(0.1)), Deadline(time.Second))
	err, n, el := conformance(t, p, func(ctx context.Context, n int) error {
		if n <= 5 {
			return work(ctx, sec(0.05), errValue)
		}
		return work(ctx, sec(0.05), nil)
	})
	check(t, err, n, el, hooks.Success, 6, sec(0.3))
}

// 3, 14: an error outside the filter is raised at once, even after a timed-out attempt.
func TestAiomiscSimpleFailAndLastExceptionIsLast(t *testing.T) {
	t.Run("simple_fail", func(t *testing.T) {
		p := MustNew(AttemptTimeout(sec(0.1)), Deadline(sec(0.5)), On(errOther))
		err, n, el := conformance(t, p, func(ctx context.Context, _ int) error { return errValue })
		check(t, err, n, el, hooks.Permanent, 1, 0)
		checkIs(t, err, map[error]bool{ErrPermanent: true, errValue: true})
	})
	t.Run("last_exception_is_last", func(t *testing.T) {
		p := MustNew(AttemptTimeout(time.Second), Deadline(2*time.Second), On(errValue))
		err, n, el := conformance(t, p, func(ctx context.Context, n int) error {
			if n == 1 {
				return work(ctx, sec(1.5), nil)
			}
			return errOther
		})
		check(t, err, n, el, hooks.Permanent, 2, time.Second)
		checkIs(t, err, map[error]bool{ErrPermanent: true, errOther: true, ErrAttemptTimeout: false, context.DeadlineExceeded: false})
	})
}

// 5: attempts that always time out, retried until the deadline cuts the ninth short.
func TestAiomiscTooLongMultipleTimes(t *testing.T) {
	p := MustNew(AttemptTimeout(sec(0.06)), Deadline(sec(0.5)))
	err, n, el := conformance(t, p, func(ctx context.Context, _ int) error { return work(ctx, 5*time.Second, nil) })
	check(t, err, n, el, hooks.Deadline, 9, sec(0.5))
	checkIs(t, err, map[error]bool{ErrDeadline: true, context.DeadlineExceeded: true})
}

// 6: deadline 0 fails at once and never calls fn.
func TestAiomiscExit(t *testing.T) {
	p := MustNew(AttemptTimeout(sec(0.05)), Deadline(0))
	err, n, el := conformance(t, p, func(ctx context.Context, _ int) error { return nil })
	check(t, err, n, el, hooks.Deadline, 0, 0)
	checkIs(t, err, map[error]bool{ErrDeadline: true, context.DeadlineExceeded: true})
	var e *Error
	if errors.As(err, &e) && e.Last != nil {
		t.Errorf("Last = %v, want nil: no attempt ran", e.Last)
	}
}

// 7: attempts at 0, 0.40 and 0.80. aiomisc then sleeps to the deadline (1.20 s); retrykit
// does not start a pause that would end at the deadline and returns at 0.85 s.
func TestAiomiscPause(t *testing.T) {
	p := MustNew(AttemptTimeout(sec(0.05)), Deadline(sec(1.2)), Pause(sec(0.35)))
	var starts []time.Duration
	var start time.Time
	err, n, el := conformance(t, p, func(ctx context.Context, n int) error {
		if n == 1 {
			start = time.Now()
		}
		starts = append(starts, time.Since(start))
		return work(ctx, 5*time.Second, nil)
	})
	check(t, err, n, el, hooks.Deadline, 3, sec(0.85))
	if want := []time.Duration{0, sec(0.4), sec(0.8)}; fmt.Sprint(starts) != fmt.Sprint(want) {
		t.Errorf("attempts started at %v, want %v", starts, want)
	}
	checkIs(t, err, map[error]bool{ErrDeadline: true, context.DeadlineExceeded: true})
}

// 8: with no attempt timeout, the deadline returns the last error the attempts raised,
// not a bare timeout.
func TestAiomiscNoWaterline(t *testing.T) {
	p := MustNew(Deadline(time.Second))
	err, n, el := conformance(t, p, func(ctx context.Context, _ int) error { return work(ctx, sec(0.1)+1, errValue) })
	// Attempts of 100ms+1ns: nine end before the deadline, the tenth is cut by it.
	check(t, err, n, el, hooks.Deadline, 10, time.Second)
	checkIs(t, err, map[error]bool{ErrDeadline: true, context.DeadlineExceeded: true, errValue: true})
	var e *Error
	if errors.As(err, &e) && !errors.Is(e.Last, context.DeadlineExceeded) {
		t.Errorf("Last = %v, want the tenth attempt's context.DeadlineExceeded", e.Last)
	}
}

// 9: no deadline; attempts that get shorter until one fits in the attempt timeout.
func TestAiomiscNoDeadline(t *testing.T) {
	const ms = time.Millisecond
	for _, maxSleep := range []time.Duration{500 * ms, 800 * ms} {
		t.Run(fmt.Sprint(maxSleep), func(t *testing.T) {
			p := MustNew(AttemptTimeout(150 * ms))
			err, n, el := conformance(t, p, func(ctx context.Context, n int) error {
				return work(ctx, maxSleep-100*ms*time.Duration(n-1), nil)
			})
			tries := int(maxSleep / (100 * ms))
			check(t, err, n, el, hooks.Success, tries, time.Duration(tries-1)*150*ms+100*ms)
		})
	}
}

// 10: option values.
func TestAiomiscValues(t *testing.T) {
	for _, tc := range []struct {
		opts []Option
		ok   bool
	}{
		{[]Option{AttemptTimeout(-time.Second), Deadline(time.Second)}, false},
		{[]Option{AttemptTimeout(0), Deadline(-time.Second)}, false},
		{[]Option{AttemptTimeout(0), Deadline(0), Pause(sec(-0.1))}, false},
		{[]Option{AttemptTimeout(0), Deadline(0)}, true},
	} {
		if _, err := New(tc.opts...); (err == nil) != tc.ok {
			t.Errorf("New: err = %v, want ok = %v", err, tc.ok)
		}
	}
}

// 12, 15: max_tries N makes exactly N attempts.
func TestAiomiscMaxTries(t *testing.T) {
	for _, n := range []int{1, 2, 5} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			for _, opts := range [][]Option{
				{AttemptTimeout(sec(0.5)), Deadline(sec(0.5)), MaxTries(n)},
				{MaxTries(n)},
			} {
				err, got, el := conformance(t, MustNew(opts...), func(context.Context, int) error { return errValue })
				check(t, err, got, el, hooks.Exhausted, n, 0)
				checkIs(t, err, map[error]bool{ErrExhausted: true, errValue: true, ErrAttemptTimeout: false})
			}
		})
	}
}

// 13: giveup stops with the very error it was given.
func TestAiomiscGiveUp(t *testing.T) {
	for _, mana := range []int{1, 2, 5} {
		t.Run(fmt.Sprint(mana), func(t *testing.T) {
			var seen error
			calls := 0
			p := MustNew(AttemptTimeout(sec(0.5)), Deadline(sec(0.5)), GiveUp(func(err error) bool {
				seen = err
				return calls >= mana
			}))
			err, n, el := conformance(t, p, func(context.Context, int) error {
				calls++
				return fmt.Errorf("attempt %d: %w", calls, errValue)
			})
			check(t, err, n, el, hooks.GaveUp, mana, 0)
			checkIs(t, err, map[error]bool{ErrGaveUp: true, errValue: true, seen: true})
			if e := err.(*Error); e.Last != seen {
				t.Errorf("Last = %v, want the value GiveUp saw, %v", e.Last, seen)
			}
		})
	}
}

// 16, 17: asyncretry(5), on a function and on a method.
func TestAiomiscAsyncRetry(t *testing.T) {
	err, n, el := conformance(t, Times(5), func(context.Context, int) error { return errValue })
	check(t, err, n, el, hooks.Exhausted, 5, 0)

	var s service
	fetch := Wrap(Times(5), s.fetch)
	if _, err := fetch(context.Background()); !errors.Is(err, errValue) || !errors.Is(err, ErrExhausted) {
		t.Errorf("err = %v, want ErrExhausted and errValue", err)
	}
	if s.calls != 5 {
		t.Errorf("method called %d times, want 5", s.calls)
	}
}

type service struct{ calls int }

func (s *service) fetch(context.Context) (string, error) {
	s.calls++
	return "", errValue
}
