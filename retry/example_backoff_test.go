package retry_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/retry"
)

// schedule is a Backoff of one's own: a fixed table of pauses, the last one repeated. It
// keeps no state, so one value serves every call.
type schedule []time.Duration

func (s schedule) Delay(attempt int, _ time.Duration) time.Duration {
	return s[min(max(attempt, 1), len(s))-1]
}

func ExampleBackoff() {
	var b retry.Backoff = schedule{10 * time.Millisecond, 50 * time.Millisecond, time.Second}
	var pauses []time.Duration
	for attempt := 1; attempt <= 5; attempt++ {
		pauses = append(pauses, b.Delay(attempt, 0))
	}
	fmt.Println(pauses)

	// Jitters wrap any Backoff.
	d := retry.FullJitter(b).Delay(2, 0)
	fmt.Println(d >= 0 && d <= 50*time.Millisecond)
	// Output:
	// [10ms 50ms 1s 1s 1s]
	// true
}

func ExampleConstant() {
	b := retry.Constant(250 * time.Millisecond)
	fmt.Println(b.Delay(1, 0), b.Delay(5, 250*time.Millisecond))
	// Output: 250ms 250ms
}

func ExampleExponential() {
	b := retry.Exponential(100*time.Millisecond, 2, 2*time.Second)
	for attempt := 1; attempt <= 7; attempt++ {
		fmt.Print(b.Delay(attempt, 0), " ")
	}
	fmt.Println()
	// Output: 100ms 200ms 400ms 800ms 1.6s 2s 2s
}

func ExampleFullJitter() {
	// The usual choice: exponential growth, and a random pause up to it so that callers
	// that failed together do not retry together.
	b := retry.FullJitter(retry.Exponential(100*time.Millisecond, 2, 10*time.Second))
	d := b.Delay(4, 0) // uniform in [0, 800ms]
	fmt.Println(d >= 0 && d <= 800*time.Millisecond)
	fmt.Println(b)
	// Output:
	// true
	// FullJitter(Exponential(100ms, 2, 10s))
}

func ExampleEqualJitter() {
	b := retry.EqualJitter(retry.Exponential(100*time.Millisecond, 2, 10*time.Second))
	d := b.Delay(4, 0) // 400ms + uniform in [0, 400ms]
	fmt.Println(d >= 400*time.Millisecond && d <= 800*time.Millisecond)
	// Output: true
}

func ExampleDecorrelated() {
	b := retry.Decorrelated(100*time.Millisecond, 10*time.Second)
	first := b.Delay(1, 0) // base after the first failure
	next := b.Delay(2, first)
	fmt.Println(first, next >= 100*time.Millisecond && next <= 300*time.Millisecond)
	// Output: 100ms true
}

func ExampleBackoffFunc() {
	// A schedule of one's own: 10ms, 20ms, 30ms, ...
	linear := retry.BackoffFunc(func(attempt int, _ time.Duration) time.Duration {
		return time.Duration(attempt) * 10 * time.Millisecond
	})
	fmt.Println(linear.Delay(1, 0), linear.Delay(3, 0))
	// Output: 10ms 30ms
}

func ExamplePauseWith() {
	policy, err := retry.New(
		retry.MaxTries(5),
		retry.PauseWith(retry.Exponential(time.Millisecond, 2, 4*time.Millisecond)),
		retry.Hooks(hooks.Hooks{
			OnRetry: func(_ context.Context, a hooks.Attempt, delay time.Duration) {
				fmt.Printf("attempt %d failed, next in %v\n", a.Number, delay)
			},
		}),
	)
	if err != nil {
		panic(err)
	}
	err = policy.Do(context.Background(), func(context.Context) error {
		return errors.New("unavailable")
	})
	fmt.Println(err)

	// Invalid parameters are an error when the policy is built.
	_, err = retry.New(retry.PauseWith(retry.FullJitter(retry.Exponential(time.Second, 0.5, time.Minute))))
	fmt.Println(err)
	// Output:
	// attempt 1 failed, next in 1ms
	// attempt 2 failed, next in 2ms
	// attempt 3 failed, next in 4ms
	// attempt 4 failed, next in 4ms
	// retry: exhausted after 5 attempts: unavailable
	// retry: PauseWith(FullJitter(Exponential(1s, 0.5, 1m0s))): factor must be at least 1
}

func ExampleWithRetryAfter() {
	policy := retry.MustNew(
		retry.MaxTries(2),
		retry.Pause(time.Millisecond),
		retry.Hooks(hooks.Hooks{
			OnRetry: func(_ context.Context, _ hooks.Attempt, delay time.Duration) {
				fmt.Println("retrying in", delay)
			},
		}),
	)
	attempt := 0
	err := policy.Do(context.Background(), func(context.Context) error {
		attempt++
		if attempt == 1 {
			// The server said: come back in 20ms. That is longer than the policy's pause,
			// so it wins.
			return retry.WithRetryAfter(errors.New("429 Too Many Requests"), 20*time.Millisecond)
		}
		return nil
	})
	fmt.Println(err)
	// Output:
	// retrying in 20ms
	// <nil>
}

func ExampleNewBudget() {
	// 10% of the calls may be retried, plus 1 retry per second (10 per window) for
	// operations called too rarely for the ratio to allow any.
	budget := retry.NewBudget(0.1, 1)
	fmt.Println(budget)

	// Any number of policies may draw on it.
	policy := retry.MustNew(retry.Throttle(budget))
	attempts := 0
	err := policy.Do(context.Background(), func(context.Context) error {
		attempts++
		return errors.New("connection refused")
	})
	fmt.Println(attempts, errors.Is(err, retry.ErrThrottled))
	fmt.Println(err)
	// Output:
	// NewBudget(0.1, 1)
	// 11 true
	// retry: retry throttled after 11 attempts: connection refused
}

func ExampleThrottle() {
	// A budget that allows no retry at all: every call makes its first attempt, and
	// a failure ends it.
	policy := retry.MustNew(retry.Throttle(retry.NewBudget(0, 0)))
	err := policy.Do(context.Background(), func(context.Context) error {
		return errors.New("timeout")
	})
	var rerr *retry.Error
	if errors.As(err, &rerr) {
		fmt.Println(rerr.Outcome, rerr.Attempts)
	}
	// Output: throttled 1
}

// A jitter that draws from a seeded source pauses the same way on every run: for a
// simulation, or a test that asserts exact pauses.
func ExampleFullJitterFrom() {
	src := rand.New(rand.NewPCG(1, 2))
	b := retry.FullJitterFrom(src, retry.Exponential(100*time.Millisecond, 2, 10*time.Second))
	for attempt := 1; attempt <= 3; attempt++ {
		fmt.Println(attempt, b.Delay(attempt, 0).Round(time.Millisecond))
	}
	// Output:
	// 1 77ms
	// 2 123ms
	// 3 314ms
}
