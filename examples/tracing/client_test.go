package main

import (
	"errors"
	"testing"

	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/retry"
)

func TestOutcomeOf(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{nil, "success"},
		{&retry.Error{Outcome: hooks.Exhausted}, "exhausted"},
		{&retry.Error{Outcome: hooks.Deadline}, "deadline"},
		{&retry.Error{Outcome: hooks.GaveUp}, "gave_up"},
		{errors.New("plain"), "unexpected error *errors.errorString"},
	} {
		if got := outcomeOf(tt.err); got != tt.want {
			t.Errorf("outcomeOf(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestStatusError(t *testing.T) {
	e := &statusError{code: 503}
	if e.Error() != "inventory: 503 Service Unavailable" || e.ErrorType() != "503" {
		t.Errorf("statusError = %q, type %q", e.Error(), e.ErrorType())
	}
}
