package bench

import (
	"context"
	"testing"
	"time"

	sretry "github.com/sethvargo/go-retry"
)

// libSethvargo: sethvargo/go-retry. Its Backoff values carry state (WithMaxRetries
// counts the retries), so the limit is wrapped around a stateless zero backoff per call,
// as the library's documentation does; only errors marked with RetryableError are
// retried, so the attempt's error is marked. The retried function gets the context. No
// per-attempt timeout and no retry budget.
var libSethvargo = lib{
	name: "sethvargo",
	retry: func(testing.TB) binder {
		return bindSethvargo(func(ctx context.Context, attempt func(context.Context) error) error {
			return attempt(ctx)
		})
	},
	timeout: func(testing.TB) binder {
		return bindSethvargo(withAttemptTimeout)
	},
	mark: markDeadline,
}

// sethvargoZero is a zero pause: NewConstant refuses 0.
var sethvargoZero = sretry.BackoffFunc(func() (time.Duration, bool) { return 0, false })

func bindSethvargo(call func(context.Context, func(context.Context) error) error) binder {
	return func(ctx context.Context, attempt func(context.Context) error) func() error {
		fn := func(ctx context.Context) error {
			if err := call(ctx, attempt); err != nil {
				return sretry.RetryableError(err)
			}
			return nil
		}
		return func() error {
			return sretry.Do(ctx, sretry.WithMaxRetries(maxTries-1, sethvargoZero), fn)
		}
	}
}
