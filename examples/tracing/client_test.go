package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

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

// testClient is the example's client against a flaky service with plan, with
// telemetry that goes nowhere.
func testClient(t *testing.T, plan func(call, attempt int) answer) *client {
	t.Helper()
	srv, err := startServer(plan)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.close(context.Background()) })
	tel := &telemetry{tp: sdktrace.NewTracerProvider(), mp: sdkmetric.NewMeterProvider()}
	t.Cleanup(func() {
		_ = tel.tp.Shutdown(context.Background())
		_ = tel.mp.Shutdown(context.Background())
	})
	c, err := newClient(defaultConfig(t), srv.url, tel)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.close)
	return c
}

// TestClientCalls: each story's call, as the workload logs it: the attempts the service
// saw, the outcome and the error the policy reported.
func TestClientCalls(t *testing.T) {
	for _, tt := range []struct {
		name     string
		post     bool
		hedge    bool
		script   []answer
		attempts int
		outcome  string
		err      string
	}{
		{"retried", false, false, []answer{{kind: answerUnavailable}, {kind: answerUnavailable}}, 3, "success", ""},
		// The POST's key and body reach the service on both attempts, or it answers 400.
		{"idempotent post", true, false, []answer{{kind: answerUnavailable}}, 2, "success", ""},
		{"not found", false, false, []answer{{kind: answerNotFound}}, 1, "permanent", "retry inventory.get: permanent error after 1 attempt: inventory: 404 Not Found"},
		{"exhausted", false, false, []answer{{kind: answerUnavailable}, {kind: answerUnavailable}, {kind: answerUnavailable}, {kind: answerUnavailable}}, 4, "exhausted", "retry inventory.get: exhausted after 4 attempts: GET "},
		// Under the hedging policy: the hedge's 200 ends the call, the slow attempt is
		// superseded; the service sees the attempt numbers (a 503 for the wrong one).
		{"hedged", false, true, []answer{{kind: answerSlow, latency: slowLatency}}, 2, "success", ""},
		{"hedged, retried", false, true, []answer{{kind: answerUnavailable}, {kind: answerUnavailable}}, 3, "success", ""},
		{"hedged, not found", false, true, []answer{{kind: answerNotFound}}, 1, "permanent", "retry inventory.get: permanent error after 1 attempt: inventory: 404 Not Found"},
		{"hedged, throttled", false, true, []answer{{kind: answerThrottled, retryAfter: time.Second}}, 2, "success", ""},
	} {
		c := testClient(t, func(_, attempt int) answer {
			if attempt <= len(tt.script) {
				return tt.script[attempt-1]
			}
			return answer{}
		})
		log := &callLog{id: 1, post: tt.post, hedge: tt.hedge}
		c.call(context.Background(), 1, func(_, attempt int) answer {
			if attempt <= len(tt.script) {
				return tt.script[attempt-1]
			}
			return answer{}
		}, log)
		errText := ""
		if log.err != nil {
			errText = log.err.Error()
		}
		if log.attempts != tt.attempts || len(log.answers) != tt.attempts || log.outcome != tt.outcome || !strings.HasPrefix(errText, tt.err) || (tt.err == "") != (log.err == nil) {
			t.Errorf("%s: %d attempts (%d answers), %s, %v; want %d, %s, %q", tt.name, log.attempts, len(log.answers), log.outcome, log.err, tt.attempts, tt.outcome, tt.err)
		}
		wantHedges := 0
		if tt.hedge && tt.script[0].kind == answerSlow {
			wantHedges = 1
		}
		if log.hedging != tt.hedge || log.hedges != wantHedges || log.superseded != wantHedges {
			t.Errorf("%s: hedging %v, %d hedges, %d superseded; want %v, %d, %d", tt.name, log.hedging, log.hedges, log.superseded,
				tt.hedge, wantHedges, wantHedges)
		}
	}
}
