package retry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/retry"
)

// aiomisc's first @asyncbackoff example:
//
//	@aiomisc.asyncbackoff(attempt_timeout=0.1, deadline=1, pause=0.1)
//	async def db_fetch(): ...
//
// Build the policy once, at package level or in a constructor, and share it.
func Example() {
	fetch := retry.MustNew(
		retry.Name("db.fetch"),
		retry.AttemptTimeout(100*time.Millisecond), // each attempt's context expires after 100ms
		retry.Deadline(time.Second),                // the whole call, pauses included
		retry.Pause(100*time.Millisecond),
	)

	attempts := 0
	err := fetch.Do(context.Background(), func(ctx context.Context) error {
		attempts++
		if attempts < 2 {
			return errors.New("connection reset")
		}
		return nil // query the database with ctx
	})
	fmt.Println(err, attempts)
	// Output: <nil> 2
}

// aiomisc's @asyncretry(5): five attempts, no timeout, no pause.
func ExampleTimes() {
	attempts := 0
	err := retry.Times(5).Do(context.Background(), func(context.Context) error {
		attempts++
		return io.ErrUnexpectedEOF
	})
	fmt.Println(attempts, errors.Is(err, retry.ErrExhausted), errors.Is(err, io.ErrUnexpectedEOF))
	fmt.Println(err)
	// Output:
	// 5 true true
	// retry: exhausted after 5 attempts: unexpected EOF
}

// aiomisc's exception list, @asyncbackoff(0.1, 1, 0.1, TypeError, RuntimeError,
// ValueError): only errors that match one of the targets are retried, the others end the
// call at once.
func ExampleOn() {
	p := retry.Times(3, retry.On(io.ErrUnexpectedEOF, syscall.ECONNRESET))
	attempts := 0
	err := p.Do(context.Background(), func(context.Context) error {
		attempts++
		return io.ErrClosedPipe
	})
	fmt.Println(attempts, errors.Is(err, retry.ErrPermanent))
	// Output: 1 true
}

// OnType retries errors by type, like an except clause on an exception class.
func ExampleOnType() {
	p := retry.Times(3, retry.OnType[*net.OpError]())
	attempts := 0
	_ = p.Do(context.Background(), func(context.Context) error {
		attempts++
		return fmt.Errorf("dial: %w", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED})
	})
	fmt.Println(attempts)
	// Output: 3
}

// aiomisc's giveup: retry OS errors, but give up unless the connection was aborted.
//
//	@asyncbackoff(attempt_timeout=0.5, deadline=1, pause=0.1,
//	              exceptions=[OSError], giveup=lambda e: e.errno != errno.ECONNABORTED)
func ExampleGiveUp() {
	p := retry.MustNew(
		retry.AttemptTimeout(500*time.Millisecond),
		retry.Deadline(time.Second),
		retry.OnType[syscall.Errno](),
		retry.GiveUp(func(err error) bool { return !errors.Is(err, syscall.ECONNABORTED) }),
	)
	errs := []error{syscall.ECONNABORTED, syscall.ECONNABORTED, syscall.EACCES}
	attempts := 0
	err := p.Do(context.Background(), func(context.Context) error {
		attempts++
		return errs[attempts-1]
	})
	fmt.Println(attempts, errors.Is(err, retry.ErrGaveUp), errors.Is(err, syscall.EACCES))
	// Output: 3 true true
}

// Permanent stops the retries from inside the function, whatever the filters say.
func ExamplePermanent() {
	attempts := 0
	err := retry.Times(5).Do(context.Background(), func(context.Context) error {
		attempts++
		return retry.Permanent(errors.New("404 not found"))
	})
	fmt.Println(attempts, err)
	// Output: 1 retry: permanent error after 1 attempt: 404 not found
}

// DoValue returns the value of the attempt that succeeded.
func ExampleDoValue() {
	attempts := 0
	n, err := retry.DoValue(context.Background(), retry.Times(3), func(context.Context) (int, error) {
		if attempts++; attempts < 3 {
			return 0, errors.New("busy")
		}
		return 42, nil
	})
	fmt.Println(n, err)
	// Output: 42 <nil>
}

// Wrap is the decorator: aiomisc's @asyncbackoff on a function.
func ExampleWrap() {
	calls := 0
	fetchUser := retry.Wrap(retry.Times(3), func(ctx context.Context) (string, error) {
		if calls++; calls == 1 {
			return "", errors.New("timeout")
		}
		return "gopher", nil
	})
	name, err := fetchUser(context.Background())
	fmt.Println(name, err, calls)
	// Output: gopher <nil> 2
}

// WrapArg decorates a function of one argument, like aiomisc's db_save(data) example.
func ExampleWrapArg() {
	saved := map[string]int{}
	failures := 1
	dbSave := retry.WrapArg(retry.Times(3, retry.Pause(time.Millisecond)), func(ctx context.Context, data map[string]int) (int, error) {
		if failures > 0 {
			failures--
			return 0, errors.New("deadlock detected")
		}
		for k, v := range data {
			saved[k] = v
		}
		return len(data), nil
	})
	n, err := dbSave(context.Background(), map[string]int{"a": 1, "b": 2})
	fmt.Println(n, err, saved)
	// Output: 2 <nil> map[a:1 b:2]
}

// Detach lets Do give up on a function that never looks at its context.
func ExampleDetach() {
	legacy := func(context.Context) error {
		time.Sleep(50 * time.Millisecond) // a call that knows nothing of contexts
		return nil
	}
	p := retry.MustNew(retry.MaxTries(2), retry.AttemptTimeout(time.Millisecond))
	err := p.Do(context.Background(), retry.Detach(legacy))
	fmt.Println(errors.Is(err, retry.ErrAttemptTimeout))
	// Output: true
}

// New reports an invalid option by name and value.
func ExampleNew() {
	_, err := retry.New(retry.AttemptTimeout(-100 * time.Millisecond))
	fmt.Println(err)
	// Output: retry: AttemptTimeout(-100ms): must not be negative
}

// If retries by any predicate, here on the temporary errors of a network stack.
func ExampleIf() {
	temporary := func(err error) bool {
		var t interface{ Temporary() bool }
		return errors.As(err, &t) && t.Temporary()
	}
	p := retry.Times(3, retry.If(temporary))
	attempts := 0
	_ = p.Do(context.Background(), func(context.Context) error {
		attempts++
		return &net.DNSError{Err: "server misbehaving", IsTemporary: true}
	})
	fmt.Println(attempts)
	// Output: 3
}

// Hooks observe every step of a call; here, the retries a call needed.
func ExampleHooks() {
	p := retry.Times(3, retry.Hooks(hooks.Hooks{
		OnRetry: func(_ context.Context, a hooks.Attempt, delay time.Duration) {
			fmt.Printf("attempt %d failed (%v), retrying in %v\n", a.Number, a.Err, delay)
		},
		OnDone: func(_ context.Context, r hooks.Result) {
			fmt.Printf("%s after %d attempts\n", r.Outcome, r.Attempts)
		},
	}))
	attempts := 0
	_ = p.Do(context.Background(), func(context.Context) error {
		if attempts++; attempts < 3 {
			return io.ErrUnexpectedEOF
		}
		return nil
	})
	// Output:
	// attempt 1 failed (unexpected EOF), retrying in 0s
	// attempt 2 failed (unexpected EOF), retrying in 0s
	// success after 3 attempts
}

// MustNew builds a policy from constants, where an invalid option is a programming error.
func ExampleMustNew() {
	p := retry.MustNew(retry.Name("cache.get"), retry.MaxTries(2), retry.Deadline(50*time.Millisecond))
	err := p.Do(context.Background(), func(context.Context) error { return nil })
	fmt.Println(err)
	// Output: <nil>
}
