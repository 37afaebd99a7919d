package otelretry_test

import (
	"context"
	"errors"
	"testing"

	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/otelretry"
	"github.com/retrykit/retrykit/retry"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"
)

// panickyError is an attempt error whose methods panic, as a buggy error type's might.
type panickyError struct{ onError, onErrorType, onUnwrap, onTimeout bool }

func (e *panickyError) Error() string {
	if e.onError {
		panic("Error")
	}
	return "panicky"
}

func (e *panickyError) ErrorType() string {
	if e.onErrorType {
		panic("ErrorType")
	}
	return ""
}

func (e *panickyError) Unwrap() error {
	if e.onUnwrap {
		panic("Unwrap")
	}
	return nil
}

func (e *panickyError) Timeout() bool {
	if e.onTimeout {
		panic("Timeout")
	}
	return false
}

const (
	panickyType = "*otelretry_test.panickyError"
	// The status description of a span whose error's Error method panicked.
	errorPanickedDesc = "(error message unavailable: its Error method panicked)"
)

// TestErrorMethodPanics: a panic in a method of the error that otelretry describes is
// recovered. The call goes on as it would without otelretry, every span is ended, a
// description that panicked is a fixed text, and an error.type that panicked is _OTHER.
func TestErrorMethodPanics(t *testing.T) {
	tests := []struct {
		name      string
		err       *panickyError
		errorType func(error) string // WithErrorType; nil: the default
		// The failed attempt's span and data point.
		wantType, wantDesc string
		// The call span's description when the call fails with the error.
		wantCallDesc string
	}{
		{"Error", &panickyError{onError: true}, nil, panickyType, errorPanickedDesc, errorPanickedDesc},
		{"ErrorType", &panickyError{onErrorType: true}, nil, "_OTHER", "panicky", errDesc},
		{"Timeout", &panickyError{onTimeout: true}, nil, "_OTHER", "panicky", errDesc},
		{"every method", &panickyError{onError: true, onErrorType: true, onTimeout: true}, nil, "_OTHER", errorPanickedDesc, errorPanickedDesc},
		{"WithErrorType's function", &panickyError{}, func(err error) string { panic("errorType") }, "_OTHER", "panicky", errDesc},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, exhausted := range []bool{false, true} {
				var opts []otelretry.Option
				if tt.errorType != nil {
					opts = append(opts, otelretry.WithErrorType(tt.errorType))
				}
				e := newEnv(t, opts...)
				tries := 2 // a retry, then success
				if exhausted {
					tries = 1 // the call fails with the error
				}
				policy := retry.MustNew(retry.Name("db.fetch"), retry.MaxTries(tries), retry.Hooks(e.hooks))
				s := &script{steps: []step{{err: tt.err}, {}}}
				var err error
				if p := func() (p any) {
					defer func() { p = recover() }()
					err = policy.Do(context.Background(), s.fn)
					return nil
				}(); p != nil {
					t.Fatalf("exhausted=%v: Do panicked: %v", exhausted, p)
				}
				attempt := failedAttempt(1, tt.wantType, tt.wantDesc, nil)
				var want []spanView
				if exhausted {
					if !errors.Is(err, retry.ErrExhausted) {
						t.Fatalf("Do returned %#v, want ErrExhausted", err)
					}
					call := callView(map[string]any{"retry.max_attempts": int64(1), "retry.attempt.count": int64(1),
						"retry.outcome": "exhausted", "error.type": "exhausted"}, codes.Error, tt.wantCallDesc)
					if tt.errorType != nil {
						call.Attrs["error.type"] = "_OTHER"
					}
					if call.Desc == errDesc {
						call.Desc = err.Error()
					}
					want = []spanView{attempt, call}
				} else {
					if err != nil {
						t.Fatalf("Do returned %#v", err)
					}
					attempt.Attrs["retry.delay"] = 0.0
					want = []spanView{attempt, attemptView(2, nil, codes.Unset, ""),
						callView(map[string]any{"retry.max_attempts": int64(2), "retry.attempt.count": int64(2), "retry.outcome": "success"}, codes.Unset, "")}
				}
				diffViews(t, e.views(t), want)
				points := e.collect(t)["retry.attempt.duration"].Data.(metricdata.Histogram[float64]).DataPoints
				found := false
				for _, dp := range points {
					if v, _ := dp.Attributes.Value(otelretry.ErrorTypeKey); v.AsString() == tt.wantType && dp.Count == 1 {
						found = true
					}
				}
				if !found {
					t.Errorf("exhausted=%v: no retry.attempt.duration point with error.type %q: %+v", exhausted, tt.wantType, points)
				}
			}
		})
	}
}

// TestUnwrapPanics: the error.type lookup walks the error's chain; a panicking Unwrap
// gives _OTHER and leaves no span open. (The retry engine walks the chain too, so the
// events are driven by hand.)
func TestUnwrapPanics(t *testing.T) {
	e := newEnv(t)
	err := &panickyError{onUnwrap: true}
	drive(e.hooks, "db.fetch", []error{err}, hooks.Permanent, err)
	diffViews(t, e.views(t), []spanView{
		{Name: attemptName, Parent: callName, Kind: trace.SpanKindInternal, Attrs: map[string]any{"retry.attempt.number": int64(1), "error.type": "_OTHER"}, Status: codes.Error, Desc: "panicky"},
		{Name: callName, Kind: trace.SpanKindInternal, Attrs: map[string]any{"retry.operation.name": "db.fetch", "retry.attempt.count": int64(1), "retry.outcome": "permanent", "error.type": "_OTHER"}, Status: codes.Error, Desc: "panicky"},
	})
}
