package hooks_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/retry"
)

var errRefused = errors.New("connection refused")

// failFirst returns a function that fails its first n calls with errRefused.
func failFirst(n int) func(context.Context) error {
	calls := 0
	return func(context.Context) error {
		calls++
		if calls <= n {
			return errRefused
		}
		return nil
	}
}

// Compose builds one set of hooks out of several: here one that tags the call's context
// and one that reads the tag, followed by a Stats. A field that only one set observes is
// that set's function itself, so composing adds no cost to it.
func ExampleCompose() {
	type requestID struct{}
	tag := hooks.Hooks{
		OnStart: func(ctx context.Context, c hooks.Call) context.Context {
			return context.WithValue(ctx, requestID{}, "req-42")
		},
	}
	trace := hooks.Hooks{
		OnAttempt: func(ctx context.Context, a hooks.Attempt) context.Context {
			fmt.Printf("%s: attempt %d for %v\n", a.Call.Name, a.Number, ctx.Value(requestID{}))
			return nil
		},
		OnDone: func(ctx context.Context, r hooks.Result) {
			fmt.Printf("%s: %v after %d attempts\n", r.Call.Name, r.Outcome, r.Attempts)
		},
	}
	stats := hooks.NewStats()
	observe := hooks.Compose(tag, trace, stats.Hooks())

	p := retry.MustNew(retry.Name("db.fetch"), retry.MaxTries(3), retry.Hooks(observe))
	_ = p.Do(context.Background(), failFirst(1))
	fmt.Println("calls:", stats.Snapshot().Calls)
	// Output:
	// db.fetch: attempt 1 for req-42
	// db.fetch: attempt 2 for req-42
	// db.fetch: success after 2 attempts
	// calls: 1
}

// Log writes one record per event. At the usual Info level only retries, timeouts and
// failures show; this handler is at Debug to show every event. The time and the
// measured durations are removed so that the output is the same on every run.
func ExampleLog() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "duration" {
				return slog.Attr{}
			}
			return a
		},
	}))
	p := retry.MustNew(retry.Name("db.fetch"), retry.MaxTries(2), retry.Pause(10*time.Millisecond),
		retry.Hooks(hooks.Log(logger)))
	_ = p.Do(context.Background(), failFirst(2))
	// Output:
	// level=DEBUG msg="retry start" op=db.fetch max_tries=2
	// level=DEBUG msg="retry attempt" op=db.fetch attempt=1
	// level=DEBUG msg="retry attempt end" op=db.fetch attempt=1 timed_out=false error="connection refused"
	// level=INFO msg="retry scheduled" op=db.fetch attempt=1 delay=10ms error="connection refused"
	// level=DEBUG msg="retry attempt" op=db.fetch attempt=2
	// level=DEBUG msg="retry attempt end" op=db.fetch attempt=2 timed_out=false error="connection refused"
	// level=ERROR msg="retry exhausted" op=db.fetch outcome=exhausted attempts=2 error="retry db.fetch: exhausted after 2 attempts: connection refused"
	// level=DEBUG msg="retry done" op=db.fetch outcome=exhausted attempts=2 error="retry db.fetch: exhausted after 2 attempts: connection refused"
}

// One Stats counts the calls of every policy it is given to. SumTime is left out of
// this output only because real attempts take a varying time.
func ExampleNewStats() {
	stats := hooks.NewStats()
	fetch := retry.MustNew(retry.MaxTries(3), retry.Hooks(stats.Hooks()))
	store := retry.MustNew(retry.MaxTries(2), retry.Hooks(stats.Hooks()))

	ctx := context.Background()
	_ = fetch.Do(ctx, failFirst(0))  // 1 attempt, success
	_ = fetch.Do(ctx, failFirst(1))  // 2 attempts, success
	_ = store.Do(ctx, failFirst(99)) // 2 attempts, exhausted

	s := stats.Snapshot()
	fmt.Printf("calls=%d attempts=%d done=%d errors=%d\n", s.Calls, s.Attempts, s.Done, s.Errors)
	fmt.Printf("successes=%d giveups=%d deadlines=%d cancels=%d\n", s.Successes, s.Giveups, s.Deadlines, s.Cancels)
	// Output:
	// calls=3 attempts=5 done=5 errors=3
	// successes=2 giveups=1 deadlines=0 cancels=0
}
