package hooks

import (
	"context"
	"math"
	"sync/atomic"
	"time"
)

// Stats counts the events of every call made through its [Stats.Hooks]: the statistics
// of aiomisc's asyncbackoff (attempts, done, errors, cancels, sum_time) plus how calls
// ended (successes, giveups, deadlines).
//
// Stats is lock-free: each event is one or two atomic operations and allocates nothing.
// One Stats may serve any number of policies and concurrent calls at once; pass its
// Hooks to each of them. The zero value is ready to use. A Stats must not be copied
// after first use.
type Stats struct {
	calls      atomic.Int64
	attempts   atomic.Int64
	done       atomic.Int64
	errors     atomic.Int64
	cancels    atomic.Int64
	sumTime    atomic.Int64 // nanoseconds
	successes  atomic.Int64
	giveups    atomic.Int64
	deadlines  atomic.Int64
	hedges     atomic.Int64
	superseded atomic.Int64
}

// StatsSnapshot is a copy of the counters of a [Stats]. What increments each field, and
// where it differs from aiomisc's BackoffStatistic:
//
//   - Calls: OnStart, once per call. (aiomisc has no such counter.)
//   - Attempts: OnAttempt, once per attempt started. Same as aiomisc's attempts.
//   - Done: OnAttemptEnd, once per attempt ended, whatever its result (a panic of fn
//     included). Same as aiomisc's done.
//   - Errors: OnAttemptEnd whose Attempt.Err is not nil and that was not superseded,
//     that is every failed attempt, retryable or not. aiomisc counts only the errors its exceptions filter retries; the
//     hooks cannot see the filter, and an honest count of failures is the more useful
//     figure. An attempt that returned nil after its timeout fired is a success, not an
//     error, as it is for the engine.
//   - Cancels: calls that ended with Outcome Canceled (counted at OnDone), whether the
//     caller's context was canceled during an attempt, during a pause or before the first
//     attempt. aiomisc counts a CancelledError raised during an attempt; since a
//     cancellation always ends the call, both count at most one per call, but aiomisc
//     misses the cancellations that land in a pause.
//   - SumTime: the sum of Attempt.Duration at OnAttemptEnd and of the delay at OnRetry,
//     that is the time spent in attempts plus the pauses between them, like aiomisc's
//     sum_time. The attempts of a hedged call overlap, and each adds its own duration,
//     so SumTime can exceed the calls' wall time. A pause is counted in full when it is scheduled, even if a cancellation
//     cuts it short; a pause that would have overrun the deadline is never scheduled and
//     not counted. The sum saturates at the largest Duration (about 292 years) rather
//     than wrapping around.
//   - Successes: OnDone with Outcome Success. (aiomisc has no such counter.)
//   - Giveups: OnGiveup, every failed call but those ended by the deadline, that is
//     the outcomes Exhausted, Canceled, GaveUp, Permanent and Throttled; the outcome
//     GaveUp (the GiveUp predicate said stop) is only one of them. (aiomisc has no such
//     counter.)
//   - Deadlines: OnDeadline, calls ended by their deadline. (aiomisc has no such counter.)
//   - Hedges: OnAttempt whose Attempt.Hedged is set, the attempts a hedging policy
//     started because the one before was slow (they count in Attempts too).
//   - Superseded: OnAttemptEnd whose Attempt.Superseded is set, the attempts still in
//     flight when a hedged call ended, canceled by the engine (they count in Done, not
//     in Errors: they did not fail, another attempt finished first).
//
// A call whose fn panicked counts in Calls, Attempts and Done, and nowhere else: its
// attempt ended with a nil Attempt.Err (a panic is not an error value), and its outcome
// Panicked has no counter.
//
// Each field is exact, but a snapshot taken while calls are running is not one instant
// of all counters. It is read in the reverse order of the events, so that, for events
// in the engine's order, it never shows more of a later event than of the one before
// it: Errors+Superseded <= Done <= Attempts, Hedges <= Attempts, Cancels <= Giveups,
// and Successes+Giveups+Deadlines <= Calls.
type StatsSnapshot struct {
	Calls      int64
	Attempts   int64
	Done       int64
	Errors     int64
	Cancels    int64
	SumTime    time.Duration
	Successes  int64
	Giveups    int64
	Deadlines  int64
	Hedges     int64
	Superseded int64
}

// NewStats returns a new Stats with every counter at zero.
func NewStats() *Stats {
	return new(Stats)
}

// Hooks returns the hooks that feed s. Every Hooks returned by one Stats adds to the
// same counters.
func (s *Stats) Hooks() Hooks {
	return Hooks{
		OnStart:      s.onStart,
		OnAttempt:    s.onAttempt,
		OnAttemptEnd: s.onAttemptEnd,
		OnRetry:      s.onRetry,
		OnGiveup:     s.onGiveup,
		OnDeadline:   s.onDeadline,
		OnDone:       s.onDone,
	}
}

// Snapshot returns the current values of the counters.
func (s *Stats) Snapshot() StatsSnapshot {
	// Later events first: see StatsSnapshot.
	var r StatsSnapshot
	r.Cancels = s.load(&s.cancels)
	r.Successes = s.load(&s.successes)
	r.Giveups = s.load(&s.giveups)
	r.Deadlines = s.load(&s.deadlines)
	r.Errors = s.load(&s.errors)
	r.Superseded = s.load(&s.superseded)
	r.Done = s.load(&s.done)
	r.SumTime = time.Duration(s.load(&s.sumTime))
	r.Hedges = s.load(&s.hedges)
	r.Attempts = s.load(&s.attempts)
	r.Calls = s.load(&s.calls)
	return r
}

// beforeSnapshotLoad, when set (by tests only), runs before each counter Snapshot
// reads, so that a test can fire events between two reads and check deterministically
// that the order of the reads keeps the snapshot consistent.
var beforeSnapshotLoad func()

func (s *Stats) load(c *atomic.Int64) int64 {
	if beforeSnapshotLoad != nil {
		beforeSnapshotLoad()
	}
	return c.Load()
}

// addSaturating adds d to the nanoseconds in c, stopping at the largest or smallest
// Duration instead of wrapping: a Pause(math.MaxInt64) cut short must not turn the sum
// negative.
func addSaturating(c *atomic.Int64, d time.Duration) {
	for {
		old := c.Load()
		sum := old + int64(d)
		switch {
		case d > 0 && sum < old:
			sum = math.MaxInt64
		case d < 0 && sum > old:
			sum = math.MinInt64
		}
		if sum == old || c.CompareAndSwap(old, sum) {
			return
		}
	}
}

func (s *Stats) onStart(_ context.Context, _ Call) context.Context {
	s.calls.Add(1)
	return nil
}

func (s *Stats) onAttempt(_ context.Context, a Attempt) context.Context {
	s.attempts.Add(1)
	if a.Hedged {
		s.hedges.Add(1) // after attempts: see Snapshot
	}
	return nil
}

func (s *Stats) onAttemptEnd(_ context.Context, a Attempt) {
	addSaturating(&s.sumTime, a.Duration)
	s.done.Add(1)
	switch {
	case a.Superseded:
		s.superseded.Add(1) // after done: see Snapshot
	case a.Err != nil:
		s.errors.Add(1)
	}
}

func (s *Stats) onRetry(_ context.Context, _ Attempt, delay time.Duration) {
	addSaturating(&s.sumTime, delay)
}

func (s *Stats) onGiveup(_ context.Context, _ Result) {
	s.giveups.Add(1)
}

func (s *Stats) onDeadline(_ context.Context, _ Result) {
	s.deadlines.Add(1)
}

func (s *Stats) onDone(_ context.Context, r Result) {
	switch r.Outcome {
	case Success:
		s.successes.Add(1)
	case Canceled:
		s.cancels.Add(1) // after giveups (OnGiveup came first): see Snapshot
	}
}
