package bench

import (
	"context"
	"testing"

	backoff "github.com/cenkalti/backoff/v7"
)

// libCenkalti7: cenkalti/backoff v7. Retry is a function that takes its options per
// call; the options slice is built once per goroutine, because the BackOff it holds is
// stateful and, by the library's documentation, not to be shared by concurrent calls.
// ZeroBackOff gives the zero pause; WithMaxElapsedTime(0) turns off the default
// 15-minute limit, which costs a clock read per retry. The operation takes no context, so
// it closes over the caller's. No per-attempt timeout and no retry budget.
var libCenkalti7 = lib{
	name: "cenkalti-v7",
	retry: func(testing.TB) binder {
		return func(ctx context.Context, attempt func(context.Context) error) func() error {
			return cenkalti7Call(ctx, func() (struct{}, error) { return struct{}{}, attempt(ctx) })
		}
	},
	timeout: func(testing.TB) binder {
		return func(ctx context.Context, attempt func(context.Context) error) func() error {
			return cenkalti7Call(ctx, func() (struct{}, error) { return struct{}{}, withAttemptTimeout(ctx, attempt) })
		}
	},
	mark: markDeadline,
}

func cenkalti7Call(ctx context.Context, op backoff.Operation[struct{}]) func() error {
	opts := []backoff.RetryOption{
		backoff.WithBackOff(&backoff.ZeroBackOff{}),
		backoff.WithMaxTries(maxTries),
		backoff.WithMaxElapsedTime(0),
	}
	return func() error {
		_, err := backoff.Retry(ctx, op, opts...)
		return err
	}
}
