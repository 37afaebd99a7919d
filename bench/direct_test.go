package bench

import (
	"context"
	"testing"
)

// libDirect is the physical limit of each scenario: the loop a caller writes by hand,
// with no library. It has no budget, so scenario E uses the plain loop.
var libDirect = lib{
	name:    "direct",
	retry:   func(testing.TB) binder { return bindDirect(directRetry) },
	timeout: func(testing.TB) binder { return bindDirect(directTimeout) },
	mark:    markDeadline,
	budget:  func(testing.TB) binder { return bindDirect(directRetry) },
}

func bindDirect(do func(context.Context, func(context.Context) error) error) binder {
	return func(ctx context.Context, attempt func(context.Context) error) func() error {
		return func() error { return do(ctx, attempt) }
	}
}

// directRetry calls attempt until it succeeds, at most maxTries times.
func directRetry(ctx context.Context, attempt func(context.Context) error) error {
	var err error
	for range maxTries {
		if err = attempt(ctx); err == nil {
			return nil
		}
	}
	return err
}

// directTimeout is directRetry with every attempt bounded by withAttemptTimeout.
func directTimeout(ctx context.Context, attempt func(context.Context) error) error {
	var err error
	for range maxTries {
		if err = withAttemptTimeout(ctx, attempt); err == nil {
			return nil
		}
	}
	return err
}

// withAttemptTimeout is what a caller writes to bound one attempt by hand: a bare
// context.WithTimeout and its cancel. It is the baseline of scenario C and the
// per-attempt timeout of every peer that has none of its own.
func withAttemptTimeout(ctx context.Context, attempt func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	return attempt(ctx)
}
