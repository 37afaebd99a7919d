package retry

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retrykit/hooks"
)

// detachedStubborn is Detach of a function that ignores its context: it works for d and
// then returns err. wg counts the runs still going, so that a test can wait for the
// abandoned ones to end.
func detachedStubborn(wg *sync.WaitGroup, d time.Duration, err error) func(context.Context) error {
	inner := Detach(func(context.Context) error {
		defer wg.Done()
		time.Sleep(d) // the work itself, deaf to ctx; synctest's clock makes it instant
		return err
	})
	return func(ctx context.Context) error {
		wg.Add(1)
		return inner(ctx)
	}
}

func TestDetachReturnsAtTheTimeout(t *testing.T) {
	const ms = time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		var ends []hooks.Attempt
		p := MustNew(MaxTries(3), AttemptTimeout(50*ms), Hooks(hooks.Hooks{
			OnAttemptEnd: func(_ context.Context, a hooks.Attempt) { ends = append(ends, a) },
		}))
		start := time.Now()
		var wg sync.WaitGroup
		err := p.Do(t.Context(), detachedStubborn(&wg, time.Second, nil))
		if el := time.Since(start); el != 150*ms {
			t.Errorf("Do returned after %v, want 150ms (three attempt timeouts)", el)
		}
		if !errors.Is(err, ErrExhausted) || !errors.Is(err, ErrAttemptTimeout) {
			t.Errorf("err = %v, want exhausted by attempt timeouts", err)
		}
		for _, a := range ends {
			if !a.TimedOut || a.Err != context.DeadlineExceeded {
				t.Errorf("attempt %d: TimedOut %v, Err %v", a.Number, a.TimedOut, a.Err)
			}
		}
		wg.Wait() // the abandoned attempts go on in the background until they return
	})
}

func TestDetachDeliversResultsInTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := MustNew(AttemptTimeout(time.Second))
		v, err := DoValue(t.Context(), p, DetachValue(func(context.Context) (int, error) {
			time.Sleep(10 * time.Millisecond)
			return 42, nil
		}))
		if v != 42 || err != nil {
			t.Errorf("got %d, %v; want 42, nil", v, err)
		}
		n := 0
		err = Times(2).Do(t.Context(), Detach(func(context.Context) error { n++; return errValue }))
		if n != 2 || !errors.Is(err, errValue) {
			t.Errorf("%d attempts, err %v", n, err)
		}
	})
}

func TestDetachCanceledCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(30*time.Millisecond, cancel)
		start := time.Now()
		var wg sync.WaitGroup
		err := MustNew().Do(ctx, detachedStubborn(&wg, time.Hour, nil))
		if !errors.Is(err, context.Canceled) || time.Since(start) != 30*time.Millisecond {
			t.Errorf("err %v after %v, want context.Canceled after 30ms", err, time.Since(start))
		}
		wg.Wait()
	})
}

func TestDetachSkipsDoneContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var called atomic.Bool
		err := Detach(func(context.Context) error { called.Store(true); return nil })(ctx)
		// A goroutine started for fn would run by the time every goroutine of the bubble
		// is blocked or gone: only then can "fn was not called" be observed.
		synctest.Wait()
		if called.Load() || err != context.Canceled {
			t.Errorf("called %v, err %v; want fn not started and context.Canceled", called.Load(), err)
		}
	})
}

// A panic of a detached fn after the caller stopped waiting crashes the program: run in
// a child process, which must die of that very panic.
func TestDetachLatePanicCrashes(t *testing.T) {
	if os.Getenv("RETRYKIT_DETACH_LATE_PANIC") == "1" {
		ctx, cancel := context.WithCancel(context.Background())
		started, release := make(chan struct{}), make(chan struct{})
		go func() {
			_ = Detach(func(context.Context) error {
				close(started)
				<-release
				panic("late detached panic")
			})(ctx)
			close(release) // the caller has stopped waiting: now let fn panic
		}()
		<-started
		cancel()
		select {} // the panic on fn's goroutine ends the process
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDetachLatePanicCrashes$", "-test.count=1")
	cmd.Env = append(os.Environ(), "RETRYKIT_DETACH_LATE_PANIC=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("child ended with %v, want a crash (exit status 2); output:\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("panic: late detached panic")) {
		t.Errorf("child output lacks the late panic:\n%s", out)
	}
}

func TestDetachPanicReachesWaitingCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("boom")
		var done hooks.Outcome = 255
		p := MustNew(AttemptTimeout(time.Second), Hooks(hooks.Hooks{
			OnDone: func(_ context.Context, r hooks.Result) { done = r.Outcome },
		}))
		defer func() {
			if r := recover(); r != boom {
				t.Errorf("recovered %v, want the panic value", r)
			}
			if done != hooks.Panicked {
				t.Errorf("OnDone saw %v, want panicked", done)
			}
		}()
		_ = p.Do(t.Context(), Detach(func(context.Context) error { panic(boom) }))
	})
}

func TestDetachGoexitIsRepeated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		returned := make(chan bool, 1)
		go func() {
			defer func() { returned <- false }()
			_ = Detach(func(context.Context) error {
				// runtime.Goexit on fn's goroutine, as t.FailNow would do.
				goexitNow()
				return nil
			})(ctx)
			returned <- true
		}()
		if <-returned {
			t.Error("the caller went on after fn called runtime.Goexit")
		}
	})
}
