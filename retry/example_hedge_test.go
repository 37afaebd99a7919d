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

// User and fetchUser stand for a read of the caller's: idempotent, so that hedged calls
// may run it twice at once.
type User struct{ Name string }

func fetchUser(ctx context.Context) (User, error) { return User{Name: "Ada"}, nil }

// Hedging after the 95th percentile of the policy's recent successful attempts, never
// before 2ms: about one call in twenty sends a second request, and a slow answer no
// longer makes a slow call.
func ExampleHedgeAtQuantile() {
	ctx := context.Background()

	users := retry.MustNew(retry.Name("users.get"), retry.MaxTries(3),
		retry.HedgeAtQuantile(0.95, 2*time.Millisecond))

	// fetchUser is a read: two attempts of one call may run at once.
	user, err := retry.HedgeValue(ctx, users, fetchUser)
	fmt.Println(user.Name, err)
	// Output: Ada <nil>
}
