package retry_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/retrykit/retrykit/retry"
)

// A hedged read: when the first replica is slow, a second attempt starts after 10ms and
// its answer ends the call; the first attempt's context is canceled, and HedgeValue
// returns once it has returned.
func ExampleHedgeValue() {
	read := retry.MustNew(retry.Name("replica.read"), retry.MaxTries(3), retry.HedgeAfter(10*time.Millisecond))

	var calls atomic.Int32
	v, err := retry.HedgeValue(context.Background(), read, func(ctx context.Context) (string, error) {
		if calls.Add(1) == 1 {
			<-ctx.Done() // this replica hangs until the hedge's answer supersedes it
			return "", ctx.Err()
		}
		return "answer from the hedge", nil
	})
	fmt.Println(v, err, calls.Load())
	// Output: answer from the hedge <nil> 2
}

// getItem stands for an idempotent read: hedged calls may run it twice at once.
func getItem(ctx context.Context, sku string) (string, error) { return "item " + sku, nil }

// Hedging after the 95th percentile of the policy's recent successful attempts, never
// before 2ms: about one call in twenty sends a second request, and a slow answer no
// longer makes a slow call.
func ExampleHedgeAtQuantile() {
	ctx := context.Background()

	read := retry.MustNew(retry.Name("inventory.get"), retry.MaxTries(3),
		retry.HedgeAtQuantile(0.95, 2*time.Millisecond))

	item, err := retry.HedgeValue(ctx, read, func(ctx context.Context) (string, error) {
		return getItem(ctx, "sku-42") // idempotent: two attempts may run at once
	})
	fmt.Println(item, err)
	// Output: item sku-42 <nil>
}
