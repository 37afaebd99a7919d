package bench

import (
	"context"
	"testing"

	"github.com/retrykit/retrykit/retry"
)

// libRetrykit: one Policy built once and shared; Do takes the caller's context per call.
var libRetrykit = lib{
	name: "retrykit",
	retry: func(tb testing.TB) binder {
		return bindRetrykit(retrykitPolicy(tb, retry.MaxTries(maxTries)))
	},
	timeout: func(tb testing.TB) binder {
		return bindRetrykit(retrykitPolicy(tb, retry.MaxTries(maxTries), retry.AttemptTimeout(attemptTimeout)))
	},
	mark: markDeadline,
	budget: func(tb testing.TB) binder {
		return bindRetrykit(retrykitPolicy(tb, retry.MaxTries(maxTries), retry.Throttle(retry.NewBudget(budgetRatio, budgetMinPerSecond))))
	},
}

// The budget of scenario E: retries up to 20% of calls (failsafe-go's default rate),
// with a reserve of 10 retries a second.
const (
	budgetRatio        = 0.2
	budgetMinPerSecond = 10
)

func retrykitPolicy(tb testing.TB, opts ...retry.Option) *retry.Policy {
	tb.Helper()
	p, err := retry.New(opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func bindRetrykit(p *retry.Policy) binder {
	return func(ctx context.Context, attempt func(context.Context) error) func() error {
		return func() error { return p.Do(ctx, attempt) }
	}
}
