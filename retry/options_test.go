package retry

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestNewRejectsInvalidOptions(t *testing.T) {
	tests := []struct {
		opt  Option
		want string
	}{
		{AttemptTimeout(-100 * time.Millisecond), "retry: AttemptTimeout(-100ms): must not be negative"},
		{Deadline(-time.Second), "retry: Deadline(-1s): must not be negative"},
		{Pause(-time.Nanosecond), "retry: Pause(-1ns): must not be negative"},
		{MaxTries(0), "retry: MaxTries(0): must be at least 1"},
		{MaxTries(-3), "retry: MaxTries(-3): must be at least 1"},
		{On(), "retry: On(): needs at least one target error"},
		{On(errValue, nil), "retry: On(ValueError: RETRY, <nil>): target must not be nil"},
		{If(nil), "retry: If(nil): function must not be nil"},
		{GiveUp(nil), "retry: GiveUp(nil): function must not be nil"},
		{PauseWith(nil), "retry: PauseWith(<nil>): backoff must not be nil"},
		{Throttle(nil), "retry: Throttle(nil): budget must not be nil"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			p, err := New(Name("x"), tc.opt, MaxTries(3))
			if p != nil || err == nil || err.Error() != tc.want {
				t.Fatalf("New = %v, %v; want error %q", p, err, tc.want)
			}
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(error).Error(), tc.want) {
					t.Errorf("MustNew panicked with %v, want %q", r, tc.want)
				}
			}()
			MustNew(tc.opt)
		})
	}
}

func TestNewAcceptsEdgeValues(t *testing.T) {
	for _, opts := range [][]Option{
		nil,
		{nil}, // a nil Option is skipped
		{AttemptTimeout(0), Deadline(0), Pause(0), MaxTries(1)},
		{Name(""), Hooks()},
		{MaxTries(1 << 40)},
	} {
		if _, err := New(opts...); err != nil {
			t.Errorf("New(%d options) = %v", len(opts), err)
		}
	}
}

// TestLastOptionWins: options that set one value keep the last one given.
func TestLastOptionWins(t *testing.T) {
	p := MustNew(MaxTries(5), MaxTries(2), Name("a"), Name("b"))
	n := 0
	err := p.Do(context.Background(), func(context.Context) error { n++; return errValue })
	if n != 2 || !strings.HasPrefix(err.Error(), "retry b:") {
		t.Errorf("%d attempts, err %q; want 2 attempts and the name b", n, err)
	}
}

func TestTimesPanicsOnZero(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(error).Error(), "MaxTries(0)") {
			t.Errorf("Times(0) panicked with %v", r)
		}
	}()
	Times(0)
}

func TestNilArgumentsPanicClearly(t *testing.T) {
	ok := func(context.Context) error { return nil }
	okv := func(context.Context) (int, error) { return 0, nil }
	p := Times(1)
	var nilPolicy *Policy
	tests := []struct {
		name string
		call func()
		want string
	}{
		{"nil policy", func() { _ = nilPolicy.Do(context.Background(), ok) }, "nil *Policy"},
		//lint:ignore SA1012 a nil context is the point of the test
		{"nil context", func() { _ = p.Do(nil, ok) }, "nil context"},
		{"nil fn", func() { _ = p.Do(context.Background(), nil) }, "nil function"},
		{"DoValue nil fn", func() { _, _ = DoValue[int](context.Background(), p, nil) }, "nil function"},
		{"DoValue nil policy", func() { _, _ = DoValue(context.Background(), nil, okv) }, "nil *Policy"},
		{"Wrap nil", func() { Wrap[int](p, nil) }, "non-nil"},
		{"WrapArg nil", func() { WrapArg[int, int](nil, nil) }, "non-nil"},
		{"Detach nil", func() { Detach(nil) }, "nil function"},
		{"DetachValue nil", func() { DetachValue[int](nil) }, "nil function"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.Contains(s, tc.want) || !strings.HasPrefix(s, "retry: ") {
					t.Errorf("panicked with %v, want a message about %q", r, tc.want)
				}
			}()
			tc.call()
		})
	}
}
