package otelretry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
)

type typedError struct{ t string }

func (e *typedError) Error() string     { return "typed" }
func (e *typedError) ErrorType() string { return e.t }

type timeoutError struct{ timeout bool }

func (e *timeoutError) Error() string { return "i/o" }
func (e *timeoutError) Timeout() bool { return e.timeout }

type plainError struct{}

func (plainError) Error() string { return "plain" }

func TestDefaultErrorType(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, "_OTHER"},
		{"ErrorType method", &typedError{"exhausted"}, "exhausted"},
		{"ErrorType method under %w", fmt.Errorf("fetch: %w", &typedError{"deadline"}), "deadline"},
		{"ErrorType method in a join", errors.Join(errors.New("a"), &typedError{"gave_up"}), "gave_up"},
		{"first ErrorType method wins", fmt.Errorf("%w", errors.Join(&typedError{"one"}, &typedError{"two"})), "one"},
		{"empty ErrorType falls back", &typedError{""}, "*otelretry.typedError"},
		{"context deadline", context.DeadlineExceeded, "timeout"},
		{"wrapped context deadline", fmt.Errorf("read: %w", context.DeadlineExceeded), "timeout"},
		{"os deadline", os.ErrDeadlineExceeded, "timeout"},
		{"Timeout() true", &net.OpError{Op: "dial", Err: &timeoutError{true}}, "timeout"},
		{"Timeout() false", &net.OpError{Op: "dial", Err: &timeoutError{false}}, "*net.OpError"},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), "canceled"},
		{"type name", plainError{}, "otelretry.plainError"},
		{"type name under %w", fmt.Errorf("a: %w", fmt.Errorf("b: %w", plainError{})), "otelretry.plainError"},
		{"errors.New", errors.New("x"), "*errors.errorString"},
		{"%w of nil", fmt.Errorf("x: %w", nil), "*fmt.wrapError"},
		{"two %w", fmt.Errorf("%w %w", plainError{}, errors.New("y")), "*fmt.wrapErrors"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := defaultErrorType(tt.err); got != tt.want {
				t.Errorf("defaultErrorType(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestDefaultErrorTypeAllocs(t *testing.T) {
	for _, err := range []error{&typedError{"x"}, fmt.Errorf("a: %w", plainError{}), &net.OpError{Op: "dial", Err: &timeoutError{true}}} {
		if n := testing.AllocsPerRun(100, func() { _ = defaultErrorType(err) }); n != 0 {
			t.Errorf("defaultErrorType(%T): %v allocs, want 0", err, n)
		}
	}
}

func TestErrorTypeOption(t *testing.T) {
	tests := []struct {
		name string
		f    func(error) string
		want string
	}{
		{"default", nil, "*errors.errorString"},
		{"custom", func(error) string { return "mine" }, "mine"},
		{"empty is _OTHER", func(error) string { return "" }, "_OTHER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tel := &telemetry{errorType: tt.f}
			if got := tel.errorTypeOf(errors.New("x")); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLimiter(t *testing.T) {
	var l limiter
	for i := range maxErrorTypes {
		v := fmt.Sprint(i)
		if got := l.admit(v); got != v {
			t.Fatalf("value %d: admitted as %q", i, got)
		}
	}
	if got := l.admit("one more"); got != ErrorTypeOther {
		t.Errorf("value past the limit admitted as %q, want _OTHER", got)
	}
	if got := l.admit("7"); got != "7" {
		t.Errorf("a known value admitted as %q after the limit", got)
	}
}

func TestCowMapLimit(t *testing.T) {
	var m cowMap[int, int]
	made := 0
	mk := func(v int) func() int { return func() int { made++; return v } }
	for i := range 3 {
		if got := m.getOrAdd(i, 3, mk(i*10)); got != i*10 {
			t.Fatalf("getOrAdd(%d) = %d", i, got)
		}
	}
	if got := m.getOrAdd(1, 3, mk(-1)); got != 10 || made != 3 {
		t.Errorf("a cached key: got %d after %d makes, want 10 after 3", got, made)
	}
	if got := m.getOrAdd(9, 3, mk(90)); got != 90 {
		t.Errorf("past the limit: got %d, want 90", got)
	}
	if _, ok := m.get(9); ok {
		t.Error("a value past the limit was kept")
	}
}
