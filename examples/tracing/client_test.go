package main

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/retry"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"3", 3 * time.Second, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"", 0, false},
	} {
		got, ok := parseRetryAfter(tt.v, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.v, got, ok, tt.want, tt.ok)
		}
	}
}

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
