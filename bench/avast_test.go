package bench

import (
	"context"
	"testing"

	avast "github.com/avast/retry-go/v5"
)

// libAvast: avast/retry-go v5 with a Retrier built once and reused, its fastest form.
// The Retrier fixes its context at New (the Context option, Background by default: the
// context every scenario uses), and the function it retries takes no context, so the
// attempt closes over the caller's. LastErrorOnly keeps the error of the last attempt
// instead of appending every attempt's error to a slice, as retrykit does; without it
// scenario B allocates more. Delay(0) needs DelayType(FixedDelay): the default delay
// type adds up to 100 ms of random jitter even to a zero delay.
var libAvast = lib{
	name: "avast-v5",
	retry: func(testing.TB) binder {
		return bindAvast(avast.New(avastOptions()...), func(ctx context.Context, attempt func(context.Context) error) func() error {
			return func() error { return attempt(ctx) }
		})
	},
	timeout: func(testing.TB) binder {
		// No per-attempt timeout: the attempt is bounded by hand.
		return bindAvast(avast.New(avastOptions()...), func(ctx context.Context, attempt func(context.Context) error) func() error {
			return func() error { return withAttemptTimeout(ctx, attempt) }
		})
	},
	mark: markDeadline,
	budget: func(testing.TB) binder {
		// A token bucket shared by every call of the Retrier, with its defaults.
		throttle := avast.NewFixedTokenBucketThrottle(avast.FixedTokenBucketThrottleConfig{})
		r := avast.New(append(avastOptions(), avast.WithThrottle(throttle))...)
		return bindAvast(r, func(ctx context.Context, attempt func(context.Context) error) func() error {
			return func() error { return attempt(ctx) }
		})
	},
}

func avastOptions() []avast.Option {
	return []avast.Option{
		avast.Attempts(maxTries),
		avast.Delay(0),
		avast.DelayType(avast.FixedDelay),
		avast.LastErrorOnly(true),
	}
}

// bindAvast builds the function the Retrier retries once per goroutine, with fn.
func bindAvast(r *avast.Retrier, fn func(context.Context, func(context.Context) error) func() error) binder {
	return func(ctx context.Context, attempt func(context.Context) error) func() error {
		f := fn(ctx, attempt)
		return func() error { return r.Do(f) }
	}
}
