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
		hedge := Attempt{Number: 3, Hedged: true}
		h.OnAttempt(ctx, hedge)
		a.Duration = time.Millisecond
		if outcome != Success {
			a.Err = errFail
		}
		h.OnAttemptEnd(ctx, a)
		hedge.Duration, hedge.Err, hedge.Superseded = time.Millisecond, context.Canceled, true
		h.OnAttemptEnd(ctx, hedge)
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
	if reads != 11 {
		t.Fatalf("Snapshot read %d counters, want 11", reads)
	}
	if got.Errors+got.Superseded > got.Done || got.Done > got.Attempts || got.Hedges > got.Attempts || got.Cancels > got.Giveups ||
		got.Successes+got.Giveups+got.Deadlines > got.Calls {
		t.Errorf("inconsistent snapshot with calls completing between reads: %+v", got)
	}
	// Each read sees the batches fired before it, one batch of four calls per read: the
	// i-th counter read holds i batches' worth. A batch counts 1 cancel, 1 success, 2
	// give-ups, 1 deadline, 7 errors, 4 superseded, 12 attempts ended, 16ms, 4 hedges,
	// 12 attempts and 4 calls.
	want := StatsSnapshot{
		Cancels: 1 * 1, Successes: 2 * 1, Giveups: 3 * 2, Deadlines: 4 * 1, Errors: 5 * 7,
		Superseded: 6 * 4, Done: 7 * 12, SumTime: 8 * 16 * time.Millisecond, Hedges: 9 * 4,
		Attempts: 10 * 12, Calls: 11 * 4,
	}
	if got != want {
		t.Errorf("snapshot %+v,\nwant     %+v (the counters read in the order of the fields of want)", got, want)
	}
}
