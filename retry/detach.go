package retry

import (
	"context"
	"runtime"
	"sync/atomic"
)

// Detach adapts a function that never looks at its context, so that Do can stop waiting
// for it: the returned function runs fn on a goroutine of its own and returns as soon as
// its context is done (the attempt's timeout, the call's deadline, the caller's
// cancellation), with the context's error, whether or not fn has returned.
//
//	err := policy.Do(ctx, retry.Detach(legacyCall))
//
// The trade-off, and why it is an adapter rather than the default:
//
//   - fn keeps running in the background after the attempt was given up; whatever it
//     returns then is dropped. It must be safe to run alongside the next attempt.
//   - Each call costs a goroutine and a channel. Do itself starts no goroutine: a
//     cooperative function (one that returns when its context is done) needs none.
//   - A panic of fn while the caller still waits goes on to the caller, with the same
//     value (fn's stack is not kept). A panic after the caller stopped waiting is raised
//     again on fn's goroutine and crashes the program, as any unrecovered panic does: it
//     is never silently lost. runtime.Goexit in fn is repeated on the caller's goroutine.
//   - A context that is already done when the returned function is called returns its
//     error without starting fn: the result would be dropped anyway. A context that can
//     never be done (context.Background()) runs fn on the caller's goroutine.
func Detach(fn func(context.Context) error) func(context.Context) error {
	if fn == nil {
		panic("retry: Detach called with a nil function")
	}
	return func(ctx context.Context) error {
		_, err := runDetached(ctx, func(ctx context.Context) (struct{}, error) { return struct{}{}, fn(ctx) })
		return err
	}
}

// DetachValue is Detach for a function that returns a value, to use with DoValue and Wrap.
func DetachValue[T any](fn func(context.Context) (T, error)) func(context.Context) (T, error) {
	if fn == nil {
		panic("retry: DetachValue called with a nil function")
	}
	return func(ctx context.Context) (T, error) { return runDetached(ctx, fn) }
}

// States of a detached run: whoever moves it out of running first decides whether the
// result is delivered to the caller or dropped.
const (
	detachedRunning int32 = iota
	detachedDelivered
	detachedAbandoned
)

type detachedResult[T any] struct {
	v        T
	err      error
	panicVal any
	panicked bool
	goexit   bool
}

func runDetached[T any](ctx context.Context, fn func(context.Context) (T, error)) (T, error) {
	if ctx.Done() == nil {
		return fn(ctx)
	}
	if err := ctx.Err(); err != nil {
		var zero T
		return zero, err
	}
	ch := make(chan detachedResult[T], 1)
	state := new(atomic.Int32)
	go func() {
		var r detachedResult[T]
		returned := false
		defer func() {
			if !returned {
				// recover returns nil only for runtime.Goexit: panic(nil) panics with a
				// *runtime.PanicNilError since Go 1.21.
				r.panicVal = recover()
				r.panicked = r.panicVal != nil
				r.goexit = !r.panicked
			}
			if state.CompareAndSwap(detachedRunning, detachedDelivered) {
				ch <- r
				return
			}
			if r.panicked {
				panic(r.panicVal)
			}
		}()
		r.v, r.err = fn(ctx)
		returned = true
	}()
	var r detachedResult[T]
	select {
	case r = <-ch:
	case <-ctx.Done():
		if state.CompareAndSwap(detachedRunning, detachedAbandoned) {
			var zero T
			return zero, ctx.Err()
		}
		r = <-ch // fn finished just as the context ended: its result stands
	}
	switch {
	case r.panicked:
		panic(r.panicVal)
	case r.goexit:
		runtime.Goexit()
	}
	return r.v, r.err
}
