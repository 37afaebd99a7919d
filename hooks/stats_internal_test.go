package hooks

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestStatsSnapshotReadOrder fires whole calls between every two counter reads of
// Snapshot: a counter of a later event read before a counter of an earlier one would
// then show the later event more often, whatever the scheduler does.
func TestStatsSnapshotReadOrder(t *testing.T) {
	s := NewStats()
	h := s.Hooks()
	ctx := context.Background()
	errFail := errors.New("fail")
	call := func(outcome Outcome) {
		h.OnStart(ctx, Call{})
		a := Attempt{Number: 1}
		h.OnAttempt(ctx, a)
		a.Duration, a.Err = time.Millisecond, errFail
		h.OnAttemptEnd(ctx, a)
		h.OnRetry(ctx, a, time.Millisecond)
		a = Attempt{Number: 2}
		h.OnAttempt(ctx, a)
		a.Duration = time.Millisecond
		if outcome != Success {
			a.Err = errFail
		}
		h.OnAttemptEnd(ctx, a)
		r := Result{Outcome: outcome, Attempts: 2}
		switch outcome {
		case Success:
		case Deadline:
			h.OnDeadline(ctx, r)
		default:
			h.OnGiveup(ctx, r)
		}
		h.OnDone(ctx, r)
	}
	reads := 0
	beforeSnapshotLoad = func() {
		reads++
		for _, o := range []Outcome{Success, Canceled, Deadline, Exhausted} {
			call(o)
		}
	}
	defer func() { beforeSnapshotLoad = nil }()

	got := s.Snapshot()
	if reads != 9 {
		t.Fatalf("Snapshot read %d counters, want 9", reads)
	}
	if got.Errors > got.Done || got.Done > got.Attempts || got.Cancels > got.Giveups ||
		got.Successes+got.Giveups+got.Deadlines > got.Calls {
		t.Errorf("inconsistent snapshot with calls completing between reads: %+v", got)
	}
	// Each read sees the calls fired before it: Cancels, read first, sees one batch,
	// Calls, read last, all nine.
	if got.Cancels != 1 || got.Calls != 9*4 {
		t.Errorf("Cancels %d, Calls %d; want 1 and 36 (read first and last)", got.Cancels, got.Calls)
	}
}
