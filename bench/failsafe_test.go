package bench

import (
	"context"
	"testing"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/budget"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/failsafe-go/failsafe-go/timeout"
)

// libFailsafe: failsafe-go with its policies and executor built once and shared; the
// executor takes the caller's context once per goroutine (WithContext copies it). Its
// Timeout policy inside the RetryPolicy is the per-attempt timeout: it cancels the
// attempt's context from a timer rather than giving it a deadline (see markCancel).
var libFailsafe = lib{
	name: "failsafe",
	retry: func(testing.TB) binder {
		ex := failsafe.With[any](failsafeRetry().Build())
		return func(ctx context.Context, attempt func(context.Context) error) func() error {
			ex := ex.WithContext(ctx)
			fn := func() error { return attempt(ctx) }
			return func() error { return ex.Run(fn) }
		}
	},
	timeout: func(testing.TB) binder {
		ex := failsafe.With[any](failsafeRetry().Build(), timeout.New[any](attemptTimeout))
		return func(ctx context.Context, attempt func(context.Context) error) func() error {
			ex := ex.WithContext(ctx)
			// The attempt's context is the execution's: the one the Timeout cancels.
			fn := func(exec failsafe.Execution[any]) error { return attempt(exec.Context()) }
			return func() error { return ex.RunWithExecution(fn) }
		}
	},
	mark: markCancel,
	budget: func(testing.TB) binder {
		b := budget.NewBuilder().WithMaxRate(budgetRatio).Build()
		ex := failsafe.With[any](failsafeRetry().WithBudget(b).Build())
		return func(ctx context.Context, attempt func(context.Context) error) func() error {
			ex := ex.WithContext(ctx)
			fn := func() error { return attempt(ctx) }
			return func() error { return ex.Run(fn) }
		}
	},
}

func failsafeRetry() retrypolicy.Builder[any] {
	return retrypolicy.NewBuilder[any]().WithMaxAttempts(maxTries).WithDelay(0)
}
