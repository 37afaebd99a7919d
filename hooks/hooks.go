// Package hooks defines the lifecycle events of a retried call and ready-made sets of
// hooks for them.
//
// A [Hooks] value is a struct of optional callbacks, in the manner of
// net/http/httptrace.ClientTrace: a nil field costs nothing, and the retry engine calls
// the others one at a time, in this order for one call (on the caller's goroutine for
// Do; a hedged call, whose attempts overlap, may run them on a goroutine of the engine,
// still one at a time):
//
//	OnStart
//	for each attempt:
//	    OnAttempt -> (fn runs) -> [OnTimeout] -> OnAttemptEnd -> [OnRetry -> pause]
//	OnGiveup or OnDeadline   (neither on success or when fn panicked)
//	OnDone                   (always, panics included)
//
// OnGiveup fires for the outcomes Exhausted, Canceled, GaveUp, Permanent and Throttled,
// OnDeadline for Deadline: every failed call gets exactly one of the two.
//
// A hedged call (retry's Hedge) overlaps its attempts: one attempt's OnAttempt may come
// before another's OnAttemptEnd, each event carries its attempt's Number, OnRetry comes
// only after a failure (never for a hedge, which Attempt.Hedged marks), and OnDone comes
// after every attempt's OnAttemptEnd.
//
// OnStart and OnAttempt may return a derived context (for example one that carries a
// span); the engine uses it for the rest of the call or the attempt, so that work done by
// fn nests under what the hook started.
//
// Package hooks imports nothing of retrykit, so that instrumentations such as otelretry
// depend on it alone.
package hooks

import (
	"context"
	"time"
)

// Call describes one call of a retry policy's Do. It is the same value for every event
// of that call.
type Call struct {
	Name     string    // the policy's Name option ("" when unset)
	MaxTries int       // the attempt limit; 0: unlimited
	Start    time.Time // when Do was entered
	Deadline time.Time // the call's deadline: the earlier of the caller's and the Deadline option's; zero: none

	// Hedging is true for a call of Hedge (or HedgeValue) on a policy with a hedge
	// option: its attempts may overlap, and Attempt.Hedged tells which were hedges.
	// Instrumentations use it to record a per-call count of hedges for such calls only.
	// The hooks of such a call never run two at once, but once a hedge has started they
	// may run on a goroutine of the engine rather than the caller's.
	Hedging bool
}

// Attempt describes one attempt of a call.
type Attempt struct {
	Call     Call
	Number   int       // 1-based
	Start    time.Time // when the attempt started
	Deadline time.Time // the attempt's context deadline: min(Start+AttemptTimeout, Call.Deadline); zero: none

	// Set once the attempt has ended (OnTimeout, OnAttemptEnd, OnRetry):
	Duration time.Duration // how long fn ran
	Err      error         // what fn returned (nil on success)
	TimedOut bool          // the attempt's own timeout fired, before the call deadline

	// Hedged is true when the hedge delay started this attempt while another attempt of
	// the call was still in flight (a hedge), false for the first attempt and for a retry
	// after a failure. Set from OnAttempt on.
	Hedged bool
	// Superseded is true when the call ended while this attempt was in flight (another
	// attempt succeeded, or the call's outcome was decided without it) and the engine
	// canceled it; its result was dropped. Err is still what fn returned. Set at
	// OnAttemptEnd.
	Superseded bool
}

// Result describes how a call ended.
type Result struct {
	Call     Call
	Outcome  Outcome
	Attempts int           // attempts started
	Duration time.Duration // from Call.Start to the end of the call
	Err      error         // what Do returns: nil on success, nil when fn panicked
}

// Hooks is a set of optional callbacks for the lifecycle of a call. The zero value
// observes nothing and costs nothing. Several Hooks combine with [Compose].
//
// Hooks run synchronously on the caller's goroutine: a slow hook slows the call, and a
// panicking hook panics the call.
type Hooks struct {
	// OnStart is called once, first. A non-nil returned context is used for the rest of
	// the call: every later hook and every attempt's context derive from it.
	OnStart func(ctx context.Context, c Call) context.Context

	// OnAttempt is called before each attempt. A non-nil returned context is the parent of
	// the context passed to fn, and is the context given to OnTimeout, OnAttemptEnd and
	// OnRetry of the same attempt.
	OnAttempt func(ctx context.Context, a Attempt) context.Context

	// OnAttemptEnd is called after each attempt, exactly once per OnAttempt, including
	// when fn panicked.
	OnAttemptEnd func(ctx context.Context, a Attempt)

	// OnTimeout is called when the attempt's own timeout fired, before its OnAttemptEnd.
	OnTimeout func(ctx context.Context, a Attempt)

	// OnRetry is called when another attempt is scheduled after delay (zero included),
	// before the pause.
	OnRetry func(ctx context.Context, a Attempt, delay time.Duration)

	// OnGiveup is called when the call failed for any reason but its deadline, that is
	// with r.Outcome one of Exhausted, Canceled, GaveUp, Permanent and Throttled. Its
	// name is broader than the outcome GaveUp, which means only that the GiveUp
	// predicate said stop: read r.Outcome to tell the five apart.
	OnGiveup func(ctx context.Context, r Result)

	// OnDeadline is called when the call failed because of its deadline (r.Outcome is
	// Deadline): the deadline passed, or the next pause would have ended after it.
	OnDeadline func(ctx context.Context, r Result)

	// OnDone is called once, last, whatever happened, panics of fn included.
	OnDone func(ctx context.Context, r Result)
}

// Compose returns one Hooks that calls, for each event, the non-nil hooks of hs in
// order. The contexts returned by OnStart and OnAttempt are threaded: each hook receives
// the context the one before it returned (or its own input when that was nil).
//
// An event that no element observes stays nil in the result, and an event that exactly
// one element observes is that element's function itself, so composing costs nothing
// for events nobody watches.
func Compose(hs ...Hooks) Hooks {
	return Hooks{
		OnStart:      composeCtx(hs, func(h *Hooks) func(context.Context, Call) context.Context { return h.OnStart }),
		OnAttempt:    composeCtx(hs, func(h *Hooks) func(context.Context, Attempt) context.Context { return h.OnAttempt }),
		OnAttemptEnd: composeVoid(hs, func(h *Hooks) func(context.Context, Attempt) { return h.OnAttemptEnd }),
		OnTimeout:    composeVoid(hs, func(h *Hooks) func(context.Context, Attempt) { return h.OnTimeout }),
		OnRetry:      composeRetry(hs),
		OnGiveup:     composeVoid(hs, func(h *Hooks) func(context.Context, Result) { return h.OnGiveup }),
		OnDeadline:   composeVoid(hs, func(h *Hooks) func(context.Context, Result) { return h.OnDeadline }),
		OnDone:       composeVoid(hs, func(h *Hooks) func(context.Context, Result) { return h.OnDone }),
	}
}

// collect returns the non-nil functions that field picks out of hs.
func collect[F any](hs []Hooks, field func(*Hooks) F, isNil func(F) bool) []F {
	var fs []F
	for i := range hs {
		if f := field(&hs[i]); !isNil(f) {
			fs = append(fs, f)
		}
	}
	return fs
}

func composeCtx[T any](hs []Hooks, field func(*Hooks) func(context.Context, T) context.Context) func(context.Context, T) context.Context {
	fs := collect(hs, field, func(f func(context.Context, T) context.Context) bool { return f == nil })
	switch len(fs) {
	case 0:
		return nil
	case 1:
		return fs[0]
	}
	return func(ctx context.Context, v T) context.Context {
		for _, f := range fs {
			if next := f(ctx, v); next != nil {
				ctx = next
			}
		}
		return ctx
	}
}

func composeVoid[T any](hs []Hooks, field func(*Hooks) func(context.Context, T)) func(context.Context, T) {
	fs := collect(hs, field, func(f func(context.Context, T)) bool { return f == nil })
	switch len(fs) {
	case 0:
		return nil
	case 1:
		return fs[0]
	}
	return func(ctx context.Context, v T) {
		for _, f := range fs {
			f(ctx, v)
		}
	}
}

func composeRetry(hs []Hooks) func(context.Context, Attempt, time.Duration) {
	fs := collect(hs, func(h *Hooks) func(context.Context, Attempt, time.Duration) { return h.OnRetry },
		func(f func(context.Context, Attempt, time.Duration)) bool { return f == nil })
	switch len(fs) {
	case 0:
		return nil
	case 1:
		return fs[0]
	}
	return func(ctx context.Context, a Attempt, d time.Duration) {
		for _, f := range fs {
			f(ctx, a, d)
		}
	}
}
