package hooks

import (
	"context"
	"log/slog"
	"time"
)

// Messages of the records that Log writes. They are stable: filters and alerts may match
// on them.
const (
	msgStart      = "retry start"
	msgAttempt    = "retry attempt"
	msgAttemptEnd = "retry attempt end"
	msgTimeout    = "retry attempt timeout"
	msgRetry      = "retry scheduled"
	msgExhausted  = "retry exhausted"
	msgCanceled   = "retry canceled"
	msgGaveUp     = "retry gave up"
	msgPermanent  = "retry permanent error"
	msgThrottled  = "retry throttled"
	msgFailed     = "retry failed" // an outcome this version does not know
	msgDeadline   = "retry deadline"
	msgDone       = "retry done"
)

// Attribute keys of the records that Log writes. They are stable.
const (
	keyOp         = "op"
	keyMaxTries   = "max_tries"
	keyDeadline   = "deadline"
	keyAttempt    = "attempt"
	keyDuration   = "duration"
	keyTimedOut   = "timed_out"
	keyHedged     = "hedged"
	keySuperseded = "superseded"
	keyDelay      = "delay"
	keyError      = "error"
	keyOutcome    = "outcome"
	keyAttempts   = "attempts"
)

// Log returns hooks that write one structured record per event to l, through
// l.LogAttrs with the event's context, so that a handler can read values (a trace ID,
// say) from it.
//
// A nil l means slog.Default(), looked up at each event, so that a later
// slog.SetDefault takes effect.
//
// Every record is guarded by l.Enabled: an event whose level the handler does not
// want allocates nothing and builds no attribute. The levels make the default Info
// handler show what an operator needs (retries, timeouts and failures) and nothing for a
// call that succeeded at once:
//
//	event         message                 level
//	OnStart       "retry start"           Debug
//	OnAttempt     "retry attempt"         Debug
//	OnAttemptEnd  "retry attempt end"     Debug (a failure is also told by the retry or failure record that follows, at a higher level)
//	OnTimeout     "retry attempt timeout" Info
//	OnRetry       "retry scheduled"       Info
//	OnGiveup      by outcome (below)      Error; Warn when the outcome is canceled (the caller's choice, not a fault)
//	OnDeadline    "retry deadline"        Error
//	OnDone        "retry done"            Debug; Error when the outcome is panicked (no other record tells of a panic)
//
// OnGiveup covers every failed call but a deadline, so its message names the outcome:
//
//	outcome      message
//	exhausted    "retry exhausted"        MaxTries reached
//	canceled     "retry canceled"         the caller's context was canceled
//	gave_up      "retry gave up"          the GiveUp predicate said stop
//	permanent    "retry permanent error"  the error was not retryable
//	throttled    "retry throttled"        a retry budget refused the retry
//	(other)      "retry failed"           an outcome added after this version
//
// The attribute keys are stable; an attribute marked "when ..." is left out otherwise:
//
//	op         string    Call.Name, in every record ("" when the policy has no Name)
//	max_tries  int       Call.MaxTries (start, when limited)
//	deadline   time      Call.Deadline (start) or Attempt.Deadline (attempt), when set
//	attempt    int       Attempt.Number (attempt, attempt end, timeout, scheduled)
//	duration   duration  Attempt.Duration (attempt end, timeout) or Result.Duration (OnGiveup, deadline, done)
//	timed_out  bool      Attempt.TimedOut (attempt end)
//	hedged     bool      Attempt.Hedged (attempt, when true: a hedge of a slow attempt)
//	superseded bool      Attempt.Superseded (attempt end, when true: canceled when another attempt ended the call)
//	delay      duration  the pause before the next attempt (scheduled)
//	error      error     Attempt.Err or Result.Err, when not nil
//	outcome    string    Result.Outcome.String() (OnGiveup, deadline, done)
//	attempts   int       Result.Attempts (OnGiveup, deadline, done)
//
// Durations are slog Duration values: a JSON handler writes them in nanoseconds, a text
// handler as "1.5s".
//
// With slog.HandlerOptions.AddSource, a record's source is in this package: the
// records are written by the hooks, which the retry engine calls, not by the caller's
// code.
func Log(l *slog.Logger) Hooks {
	h := logHooks{l: l}
	return Hooks{
		OnStart:      h.onStart,
		OnAttempt:    h.onAttempt,
		OnAttemptEnd: h.onAttemptEnd,
		OnTimeout:    h.onTimeout,
		OnRetry:      h.onRetry,
		OnGiveup:     h.onGiveup,
		OnDeadline:   h.onDeadline,
		OnDone:       h.onDone,
	}
}

type logHooks struct {
	l *slog.Logger // nil: slog.Default() at each event
}

func (h logHooks) logger() *slog.Logger {
	if h.l != nil {
		return h.l
	}
	return slog.Default()
}

// The attributes of each record are gathered in a fixed array on the stack, so that an
// enabled record costs what the handler costs and no more.

func (h logHooks) onStart(ctx context.Context, c Call) context.Context {
	l := h.logger()
	if !l.Enabled(ctx, slog.LevelDebug) {
		return nil
	}
	var as [3]slog.Attr
	as[0] = slog.String(keyOp, c.Name)
	n := 1
	if c.MaxTries > 0 {
		as[n] = slog.Int(keyMaxTries, c.MaxTries)
		n++
	}
	if !c.Deadline.IsZero() {
		as[n] = slog.Time(keyDeadline, c.Deadline)
		n++
	}
	l.LogAttrs(ctx, slog.LevelDebug, msgStart, as[:n]...)
	return nil
}

func (h logHooks) onAttempt(ctx context.Context, a Attempt) context.Context {
	l := h.logger()
	if !l.Enabled(ctx, slog.LevelDebug) {
		return nil
	}
	as := [4]slog.Attr{slog.String(keyOp, a.Call.Name), slog.Int(keyAttempt, a.Number)}
	n := 2
	if !a.Deadline.IsZero() {
		as[n] = slog.Time(keyDeadline, a.Deadline)
		n++
	}
	if a.Hedged {
		as[n] = slog.Bool(keyHedged, true)
		n++
	}
	l.LogAttrs(ctx, slog.LevelDebug, msgAttempt, as[:n]...)
	return nil
}

func (h logHooks) onAttemptEnd(ctx context.Context, a Attempt) {
	h.attemptRecord(ctx, slog.LevelDebug, msgAttemptEnd, a, slog.Duration(keyDuration, a.Duration), true)
}

func (h logHooks) onTimeout(ctx context.Context, a Attempt) {
	h.attemptRecord(ctx, slog.LevelInfo, msgTimeout, a, slog.Duration(keyDuration, a.Duration), false)
}

func (h logHooks) onRetry(ctx context.Context, a Attempt, delay time.Duration) {
	h.attemptRecord(ctx, slog.LevelInfo, msgRetry, a, slog.Duration(keyDelay, delay), false)
}

// attemptRecord writes the record of an event that ends or follows an attempt: op,
// attempt, the event's own value, timed_out if asked for, and the error if there is one.
func (h logHooks) attemptRecord(ctx context.Context, level slog.Level, msg string, a Attempt, value slog.Attr, timedOut bool) {
	l := h.logger()
	if !l.Enabled(ctx, level) {
		return
	}
	as := [6]slog.Attr{slog.String(keyOp, a.Call.Name), slog.Int(keyAttempt, a.Number), value}
	n := 3
	if timedOut {
		as[n] = slog.Bool(keyTimedOut, a.TimedOut)
		n++
		if a.Superseded {
			as[n] = slog.Bool(keySuperseded, true)
			n++
		}
	}
	if a.Err != nil {
		as[n] = slog.Any(keyError, a.Err)
		n++
	}
	l.LogAttrs(ctx, level, msg, as[:n]...)
}

func (h logHooks) onGiveup(ctx context.Context, r Result) {
	level := slog.LevelError
	if r.Outcome == Canceled {
		level = slog.LevelWarn
	}
	h.result(ctx, level, giveupMessage(r.Outcome), r)
}

// giveupMessage words the record of OnGiveup by the outcome it reports.
func giveupMessage(o Outcome) string {
	switch o {
	case Exhausted:
		return msgExhausted
	case Canceled:
		return msgCanceled
	case GaveUp:
		return msgGaveUp
	case Permanent:
		return msgPermanent
	case Throttled:
		return msgThrottled
	}
	return msgFailed
}

func (h logHooks) onDeadline(ctx context.Context, r Result) {
	h.result(ctx, slog.LevelError, msgDeadline, r)
}

func (h logHooks) onDone(ctx context.Context, r Result) {
	level := slog.LevelDebug
	if r.Outcome == Panicked {
		level = slog.LevelError
	}
	h.result(ctx, level, msgDone, r)
}

// result writes the record of an event that describes the whole call.
func (h logHooks) result(ctx context.Context, level slog.Level, msg string, r Result) {
	l := h.logger()
	if !l.Enabled(ctx, level) {
		return
	}
	as := [5]slog.Attr{
		slog.String(keyOp, r.Call.Name),
		slog.String(keyOutcome, r.Outcome.String()),
		slog.Int(keyAttempts, r.Attempts),
		slog.Duration(keyDuration, r.Duration),
	}
	n := 4
	if r.Err != nil {
		as[n] = slog.Any(keyError, r.Err)
		n++
	}
	l.LogAttrs(ctx, level, msg, as[:n]...)
}
