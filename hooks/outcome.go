package hooks

import "strconv"

// Outcome says why a call ended.
type Outcome uint8

const (
	// Success: an attempt returned nil.
	Success Outcome = iota
	// Exhausted: the attempt that reached MaxTries failed.
	Exhausted
	// Deadline: the call's deadline passed, or the next pause would have ended after it.
	Deadline
	// Canceled: the caller's context was canceled.
	Canceled
	// GaveUp: the GiveUp predicate said stop. Only that: the hook OnGiveup and the
	// counter StatsSnapshot.Giveups also cover Exhausted, Canceled, Permanent and
	// Throttled.
	GaveUp
	// Permanent: the error was not retryable.
	Permanent
	// Throttled: a retry budget refused the retry.
	Throttled
	// Panicked: fn panicked; the panic goes on to the caller. Seen only by OnDone.
	Panicked
)

var outcomeNames = [...]string{
	Success:   "success",
	Exhausted: "exhausted",
	Deadline:  "deadline",
	Canceled:  "canceled",
	GaveUp:    "gave_up",
	Permanent: "permanent",
	Throttled: "throttled",
	Panicked:  "panicked",
}

// String returns the outcome's stable lower-case name ("success", "gave_up", ...), the
// value telemetry uses as an attribute. An unknown value prints as "outcome(N)".
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}
