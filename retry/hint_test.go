package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retrykit/hooks"
)

// throttledError is an error type of its own that carries a hint, as a client library's
// error might.
type throttledError struct{ after time.Duration }

func (e *throttledError) Error() string             { return "throttled" }
func (e *throttledError) RetryAfter() time.Duration { return e.after }

// hintByAs is an error with an As method that can produce a hint, which errors.As
// honours: the hint search must too.
type hintByAs struct{ hint *throttledError }

func (e hintByAs) Error() string { return "as-hint" }
func (e hintByAs) As(target any) bool {
	if p, ok := target.(*retryAfterer); ok {
		*p = e.hint
		return true
	}
	return false
}

// asNothing has an As method that never matches.
type asNothing struct{ err error }

func (e asNothing) Error() string { return "as-nothing: " + e.err.Error() }
func (e asNothing) Unwrap() error { return e.err }
func (e asNothing) As(any) bool   { return false }

func TestRetryAfterHint(t *testing.T) {
	base := errors.New("503")
	tests := []struct {
		name   string
		err    error
		want   time.Duration
		wantOK bool
	}{
		{"nil", nil, 0, false},
		{"plain error", base, 0, false},
		{"WithRetryAfter", WithRetryAfter(base, 3*time.Second), 3 * time.Second, true},
		{"zero hint", WithRetryAfter(base, 0), 0, true},
		{"negative hint counts as 0", WithRetryAfter(base, -time.Second), 0, true},
		{"wrapped by fmt.Errorf", fmt.Errorf("GET /: %w", WithRetryAfter(base, time.Second)), time.Second, true},
		{"deeply wrapped", fmt.Errorf("a: %w", fmt.Errorf("b: %w", fmt.Errorf("c: %w", WithRetryAfter(base, 2*time.Second)))), 2 * time.Second, true},
		{"own error type", fmt.Errorf("call: %w", &throttledError{after: 5 * time.Second}), 5 * time.Second, true},
		{"the outermost hint wins", WithRetryAfter(fmt.Errorf("x: %w", WithRetryAfter(base, time.Second)), 7*time.Second), 7 * time.Second, true},
		{"errors.Join, second branch", errors.Join(io.EOF, WithRetryAfter(base, 4*time.Second)), 4 * time.Second, true},
		{"errors.Join, first branch first", errors.Join(WithRetryAfter(base, time.Second), WithRetryAfter(base, 9*time.Second)), time.Second, true},
		{"multiple %w, depth first", fmt.Errorf("%w, %w", fmt.Errorf("a: %w", WithRetryAfter(base, 6*time.Second)), WithRetryAfter(base, time.Second)), 6 * time.Second, true},
		{"errors.Join without hint", errors.Join(io.EOF, base), 0, false},
		{"As method that produces a hint", fmt.Errorf("w: %w", hintByAs{&throttledError{after: 8 * time.Second}}), 8 * time.Second, true},
		{"As method that does not, hint inside", asNothing{WithRetryAfter(base, 3*time.Second)}, 3 * time.Second, true},
		{"As method that does not, no hint", asNothing{base}, 0, false},
		{"*Error with a hinted last error", &Error{Outcome: hooks.Exhausted, Attempts: 2, Last: WithRetryAfter(base, time.Second)}, time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := hintOf(tt.err)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("hintOf(%v) = %v, %v; want %v, %v", tt.err, got, ok, tt.want, tt.wantOK)
			}
			// The search agrees with errors.As wherever a hint is found by it.
			if h, asOK := errors.AsType[retryAfterer](tt.err); asOK != tt.wantOK || asOK && max(h.RetryAfter(), 0) != got {
				t.Errorf("errors.AsType disagrees: %v, %v", h, asOK)
			}
		})
	}
}

func TestWithRetryAfterIsTransparent(t *testing.T) {
	if err := WithRetryAfter(nil, time.Second); err != nil {
		t.Errorf("WithRetryAfter(nil, 1s) = %v, want nil", err)
	}
	base := &throttledError{after: time.Minute}
	err := WithRetryAfter(fmt.Errorf("GET /: %w", base), 2*time.Second)
	if got, want := err.Error(), "GET /: throttled"; got != want {
		t.Errorf("Error() = %q, want %q: the hint does not change the message", got, want)
	}
	if !errors.Is(err, base) {
		t.Error("errors.Is does not find the wrapped error")
	}
	if te, ok := errors.AsType[*throttledError](err); !ok || te != base {
		t.Errorf("errors.As finds %v, %v; want the wrapped *throttledError", te, ok)
	}
	if d, ok := hintOf(err); !ok || d != 2*time.Second {
		t.Errorf("hint %v, %v; want the outer 2s", d, ok)
	}
}

func TestRetryAfterHintAllocatesNothing(t *testing.T) {
	base := errors.New("boom")
	chains := []error{
		base,
		WithRetryAfter(base, time.Second),
		fmt.Errorf("a: %w", fmt.Errorf("b: %w", WithRetryAfter(base, time.Second))),
		errors.Join(io.EOF, fmt.Errorf("c: %w", &throttledError{after: time.Second})),
		errors.Join(io.EOF, base),
		asNothing{WithRetryAfter(base, time.Second)},
		fmt.Errorf("d: %w", hintByAs{&throttledError{after: time.Second}}),
	}
	for _, err := range chains {
		if allocs := testing.AllocsPerRun(1000, func() { _, _ = hintOf(err) }); allocs != 0 {
			t.Errorf("hintOf(%v): %v allocs, want 0", err, allocs)
		}
	}
}

// hintRun records what a call's hooks saw.
type hintRun struct {
	delays  []time.Duration
	outcome hooks.Outcome
}

func (r *hintRun) hooks() hooks.Hooks {
	return hooks.Hooks{
		OnRetry: func(_ context.Context, _ hooks.Attempt, d time.Duration) { r.delays = append(r.delays, d) },
		OnDone:  func(_ context.Context, res hooks.Result) { r.outcome = res.Outcome },
	}
}

// TestHintInTheEngine runs calls whose attempts return hints, under synctest so that the
// pauses are exact: the pause is max(hint, backoff), it is what OnRetry reports, and a
// hint that would outlast the deadline ends the call at once.
func TestHintInTheEngine(t *testing.T) {
	base := errors.New("503")
	tests := []struct {
		name        string
		opts        []Option
		errs        []error // returned by attempts 1, 2, ...; the next attempt succeeds
		wantDelays  []time.Duration
		wantOutcome hooks.Outcome
		wantElapsed time.Duration
	}{
		{"hint longer than the backoff wins", []Option{Pause(time.Second)},
			[]error{WithRetryAfter(base, 3*time.Second)}, []time.Duration{3 * time.Second}, hooks.Success, 3 * time.Second},
		{"backoff longer than the hint wins", []Option{Pause(time.Second)},
			[]error{WithRetryAfter(base, 300*time.Millisecond)}, []time.Duration{time.Second}, hooks.Success, time.Second},
		{"hint without backoff", nil,
			[]error{fmt.Errorf("GET: %w", &throttledError{after: 2 * time.Second})}, []time.Duration{2 * time.Second}, hooks.Success, 2 * time.Second},
		{"hint over an exponential schedule", []Option{PauseWith(Exponential(time.Second, 2, time.Minute))},
			[]error{base, WithRetryAfter(base, 5*time.Second), base, WithRetryAfter(base, time.Second)},
			[]time.Duration{time.Second, 5 * time.Second, 4 * time.Second, 8 * time.Second}, hooks.Success, 18 * time.Second},
		{"hint over full jitter", []Option{PauseWith(FullJitter(Constant(time.Second)))},
			[]error{WithRetryAfter(base, 1500*time.Millisecond)}, []time.Duration{1500 * time.Millisecond}, hooks.Success, 1500 * time.Millisecond},
		{"decorrelated stays capped after a hint", []Option{PauseWith(Decorrelated(time.Second, time.Second))},
			[]error{WithRetryAfter(base, 10*time.Second), base}, []time.Duration{10 * time.Second, time.Second}, hooks.Success, 11 * time.Second},
		{"hint past the deadline ends the call at once", []Option{Deadline(5 * time.Second), Pause(time.Second)},
			[]error{WithRetryAfter(base, 10*time.Second)}, nil, hooks.Deadline, 0},
		{"hint reaching the deadline ends the call at once", []Option{Deadline(5 * time.Second)},
			[]error{WithRetryAfter(base, 5*time.Second)}, nil, hooks.Deadline, 0},
		{"hint within the deadline is taken", []Option{Deadline(5 * time.Second)},
			[]error{WithRetryAfter(base, 4*time.Second)}, []time.Duration{4 * time.Second}, hooks.Success, 4 * time.Second},
		{"a hint does not make MaxTries wait", []Option{MaxTries(1)},
			[]error{WithRetryAfter(base, time.Hour)}, nil, hooks.Exhausted, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var run hintRun
				p := MustNew(append(tt.opts, Hooks(run.hooks()))...)
				attempts := 0
				start := time.Now()
				err := p.Do(context.Background(), func(context.Context) error {
					attempts++
					if attempts <= len(tt.errs) {
						return tt.errs[attempts-1]
					}
					return nil
				})
				elapsed := time.Since(start)
				if run.outcome != tt.wantOutcome {
					t.Errorf("outcome %v, want %v (err %v)", run.outcome, tt.wantOutcome, err)
				}
				if fmt.Sprint(run.delays) != fmt.Sprint(tt.wantDelays) {
					t.Errorf("OnRetry delays %v, want %v", run.delays, tt.wantDelays)
				}
				if elapsed != tt.wantElapsed {
					t.Errorf("the call took %v, want %v", elapsed, tt.wantElapsed)
				}
				if tt.wantOutcome == hooks.Deadline {
					if !errors.Is(err, ErrDeadline) || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, base) {
						t.Errorf("error %v: want ErrDeadline, context.DeadlineExceeded and the attempt's error", err)
					}
					if attempts != 1 {
						t.Errorf("%d attempts, want 1", attempts)
					}
				}
			})
		})
	}
}

func BenchmarkRetryAfterHint(b *testing.B) {
	base := errors.New("boom")
	for _, bc := range []struct {
		name string
		err  error
	}{
		{"none", fmt.Errorf("a: %w", base)},
		{"direct", WithRetryAfter(base, time.Second)},
		{"wrapped", fmt.Errorf("a: %w", fmt.Errorf("b: %w", WithRetryAfter(base, time.Second)))},
		{"joined", errors.Join(io.EOF, WithRetryAfter(base, time.Second))},
		{"viaAs", fmt.Errorf("d: %w", hintByAs{&throttledError{after: time.Second}})},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				hintOf(bc.err)
			}
		})
	}
}

// hintOf is the hint half of classify.
func hintOf(err error) (time.Duration, bool) {
	_, d, ok := classify(err)
	return d, ok
}

// TestClassifyPermanent: classify finds the Permanent mark wherever errors.Is would, and
// does not look for the hint of a permanent error: no retry follows it.
func TestClassifyPermanent(t *testing.T) {
	hinted := WithRetryAfter(errors.New("busy"), time.Second)
	for _, err := range []error{
		ErrPermanent,
		Permanent(hinted),
		fmt.Errorf("a: %w", Permanent(hinted)),
		errors.Join(hinted, fmt.Errorf("b: %w", ErrPermanent)),
		fmt.Errorf("c: %w", &Error{Outcome: hooks.Permanent, Last: hinted}),
		hinted,
		errors.Join(hinted, io.EOF),
		fmt.Errorf("d: %w", &Error{Outcome: hooks.Exhausted, Last: hinted}),
	} {
		p, _, hasHint := classify(err)
		if want := errors.Is(err, ErrPermanent); p != want || p && hasHint {
			t.Errorf("classify(%v) = permanent %v, hint %v; errors.Is says %v", err, p, hasHint, want)
		}
	}
}
