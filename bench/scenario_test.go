package bench

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// The policy every library runs: at most maxTries attempts, no pause between them, and
// in scenario C a per-attempt timeout of attemptTimeout.
const (
	maxTries       = 3
	attemptTimeout = 100 * time.Millisecond
)

var errTransient = errors.New("bench: transient failure")

// A binder ties a library's policy, built once, to one goroutine's attempt function and
// returns the call that the benchmark loop times. It runs outside the loop, so whatever
// it builds (closures, per-goroutine state) is not counted per call.
type binder func(ctx context.Context, attempt func(context.Context) error) func() error

// timeoutMark says what a library's per-attempt timeout leaves on the attempt's context,
// and so what scenario C checks after its loop.
type timeoutMark int

const (
	// markDeadline: ctx.Deadline() is the attempt's start plus attemptTimeout.
	markDeadline timeoutMark = iota
	// markCancel: the context has no deadline, but a timer cancels it (failsafe-go);
	// the check is that the attempt's context can be canceled (ctx.Done() != nil),
	// which allocates a channel that the deadline libraries are not charged.
	markCancel
)

// A lib is one retry library as the scenarios run it. Each of its functions builds the
// library's policy once, in its fastest idiomatic form, and returns the binder.
type lib struct {
	name    string
	retry   func(tb testing.TB) binder // at most maxTries attempts, no pause (A, B)
	timeout func(tb testing.TB) binder // ... and a per-attempt timeout (C)
	mark    timeoutMark                // what timeout leaves on the attempt's context
	budget  func(tb testing.TB) binder // ... and a retry budget (E); nil: the library has none
}

// libs in the order of the result tables: the baseline, retrykit, then the peers.
var libs = []lib{libDirect, libRetrykit, libAvast, libCenkalti7, libCenkalti5, libSethvargo, libFailsafe}

// A scenario is what one call does and what the check after the loop expects.
type scenario struct {
	failures int  // attempts that fail before the one that succeeds, in every call
	timeout  bool // scenario C: check the timeout on every attempt's context
	mark     timeoutMark
}

var (
	scenarioA = scenario{}
	scenarioB = scenario{failures: 2}
)

func scenarioC(l lib) scenario { return scenario{timeout: true, mark: l.mark} }

// work is the function under retry and the record of what happened to it. One work
// belongs to one goroutine: counting costs a few plain increments, the same for every
// library, and no shared cache line.
type work struct {
	failures int // attempts that fail before the one that succeeds, in every call
	inCall   int // attempts so far in the current call

	calls    int // calls made
	attempts int // attempts made
	errs     int // calls that returned an error
	lastErr  error

	// scenario C
	withDeadline int       // attempts whose context had a deadline
	cancelable   int       // attempts whose context could be canceled
	first, last  time.Time // the deadlines of the first and last such attempts
}

// attemptFor returns the attempt function that records what s checks. It is a closure
// over w rather than a method value, which would add a call to every attempt.
func (w *work) attemptFor(s scenario) func(context.Context) error {
	switch {
	case !s.timeout:
		return func(context.Context) error {
			w.attempts++
			w.inCall++
			if w.inCall <= w.failures {
				return errTransient
			}
			return nil
		}
	case s.mark == markDeadline:
		return func(ctx context.Context) error {
			if d, ok := ctx.Deadline(); ok {
				if w.withDeadline == 0 {
					w.first = d
				}
				w.withDeadline++
				w.last = d
			}
			w.attempts++
			w.inCall++
			if w.inCall <= w.failures {
				return errTransient
			}
			return nil
		}
	default:
		return func(ctx context.Context) error {
			if ctx.Done() != nil {
				w.cancelable++
			}
			w.attempts++
			w.inCall++
			if w.inCall <= w.failures {
				return errTransient
			}
			return nil
		}
	}
}

// call makes one call through op.
func (w *work) call(op func() error) {
	w.inCall = 0
	w.calls++
	if err := op(); err != nil {
		w.errs++
		w.lastErr = err
	}
}

// add merges the record of another goroutine's work into w.
func (w *work) add(o *work) {
	w.calls += o.calls
	w.attempts += o.attempts
	w.errs += o.errs
	if o.lastErr != nil {
		w.lastErr = o.lastErr
	}
	if o.withDeadline > 0 {
		if w.withDeadline == 0 || o.first.Before(w.first) {
			w.first = o.first
		}
		if o.last.After(w.last) {
			w.last = o.last
		}
	}
	w.withDeadline += o.withDeadline
	w.cancelable += o.cancelable
}

// verify checks that n calls, made between start and end, did what s claims: every call
// succeeded after exactly s.failures failed attempts, and in scenario C every attempt
// carried its timeout.
func (w *work) verify(tb testing.TB, s scenario, n int, start, end time.Time) {
	tb.Helper()
	if w.calls != n {
		tb.Fatalf("made %d calls, want %d", w.calls, n)
	}
	if w.errs != 0 {
		tb.Fatalf("%d of %d calls failed, the last with %v", w.errs, n, w.lastErr)
	}
	if want := n * (s.failures + 1); w.attempts != want {
		tb.Fatalf("%d calls made %d attempts, want %d", n, w.attempts, want)
	}
	if !s.timeout {
		return
	}
	switch s.mark {
	case markDeadline:
		if w.withDeadline != w.attempts {
			tb.Fatalf("%d of %d attempts had a deadline on their context, want all", w.withDeadline, w.attempts)
		}
		// Every attempt started between start and end, so its deadline lies between
		// start+attemptTimeout and end+attemptTimeout.
		if lo := start.Add(attemptTimeout); w.first.Before(lo) {
			tb.Fatalf("first attempt's deadline %v is before start+%v = %v", w.first, attemptTimeout, lo)
		}
		if hi := end.Add(attemptTimeout); w.last.After(hi) {
			tb.Fatalf("last attempt's deadline %v is after end+%v = %v", w.last, attemptTimeout, hi)
		}
	case markCancel:
		if w.cancelable != w.attempts {
			tb.Fatalf("%d of %d attempts had a cancelable context, want all", w.cancelable, w.attempts)
		}
	}
}

// benchSerial times b.N calls on one goroutine.
func benchSerial(b *testing.B, bind binder, s scenario) {
	w := &work{failures: s.failures}
	op := bind(context.Background(), w.attemptFor(s))
	b.ReportAllocs()
	start := time.Now()
	b.ResetTimer()
	for range b.N {
		w.call(op)
	}
	b.StopTimer()
	w.verify(b, s, b.N, start, time.Now())
}

// benchParallel times b.N calls spread over GOMAXPROCS goroutines, each with its own
// work and its own binding of the one policy.
func benchParallel(b *testing.B, bind binder, s scenario) {
	var (
		mu    sync.Mutex
		total work
	)
	b.ReportAllocs()
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &work{failures: s.failures}
		op := bind(context.Background(), w.attemptFor(s))
		for pb.Next() {
			w.call(op)
		}
		mu.Lock()
		total.add(w)
		mu.Unlock()
	})
	b.StopTimer()
	total.verify(b, s, b.N, start, time.Now())
}

// testCalls is how many calls each test makes per goroutine: more than one, so that a
// policy that does not survive reuse fails.
const testCalls = 3

// testSerial is benchSerial for tests: testCalls calls, the same checks.
func testSerial(t *testing.T, bind binder, s scenario) {
	t.Helper()
	w := &work{failures: s.failures}
	op := bind(context.Background(), w.attemptFor(s))
	start := time.Now()
	for range testCalls {
		w.call(op)
	}
	w.verify(t, s, testCalls, start, time.Now())
}

// testParallel is benchParallel for tests: two goroutines share the policy (so that -race
// sees them), testCalls calls each, the same checks.
func testParallel(t *testing.T, bind binder, s scenario) {
	t.Helper()
	const goroutines = 2
	var (
		mu    sync.Mutex
		total work
		wg    sync.WaitGroup
	)
	start := time.Now()
	for range goroutines {
		wg.Go(func() {
			w := &work{failures: s.failures}
			op := bind(context.Background(), w.attemptFor(s))
			for range testCalls {
				w.call(op)
			}
			mu.Lock()
			total.add(w)
			mu.Unlock()
		})
	}
	wg.Wait()
	total.verify(t, s, goroutines*testCalls, start, time.Now())
}

// BenchmarkA_FirstTry: the attempt succeeds at once; what the wrapper costs when
// nothing goes wrong, which is nearly always.
func BenchmarkA_FirstTry(b *testing.B) {
	for _, l := range libs {
		b.Run("lib="+l.name, func(b *testing.B) { benchSerial(b, l.retry(b), scenarioA) })
	}
}

// BenchmarkA_FirstTryParallel is BenchmarkA_FirstTry with one policy shared by
// GOMAXPROCS goroutines.
func BenchmarkA_FirstTryParallel(b *testing.B) {
	for _, l := range libs {
		b.Run("lib="+l.name, func(b *testing.B) { benchParallel(b, l.retry(b), scenarioA) })
	}
}

// BenchmarkB_TwoFailures: two attempts fail, the third succeeds, with no pause: the
// cost of the retry machinery itself.
func BenchmarkB_TwoFailures(b *testing.B) {
	for _, l := range libs {
		b.Run("lib="+l.name, func(b *testing.B) { benchSerial(b, l.retry(b), scenarioB) })
	}
}

// BenchmarkC_AttemptTimeout: first-try success under a per-attempt timeout of 100 ms.
// The direct baseline is a bare context.WithTimeout and its cancel.
func BenchmarkC_AttemptTimeout(b *testing.B) {
	for _, l := range libs {
		b.Run("lib="+l.name, func(b *testing.B) { benchSerial(b, l.timeout(b), scenarioC(l)) })
	}
}

// BenchmarkE_Budget: first-try success under RunParallel, every call checked against
// a retry budget shared by all goroutines. Libraries without a budget are left out.
func BenchmarkE_Budget(b *testing.B) {
	for _, l := range libs {
		if l.budget == nil {
			continue
		}
		b.Run("lib="+l.name, func(b *testing.B) { benchParallel(b, l.budget(b), scenarioA) })
	}
}

func TestA_FirstTry(t *testing.T) {
	for _, l := range libs {
		t.Run(l.name, func(t *testing.T) {
			t.Run("serial", func(t *testing.T) { testSerial(t, l.retry(t), scenarioA) })
			t.Run("parallel", func(t *testing.T) { testParallel(t, l.retry(t), scenarioA) })
		})
	}
}

func TestB_TwoFailures(t *testing.T) {
	for _, l := range libs {
		t.Run(l.name, func(t *testing.T) { testSerial(t, l.retry(t), scenarioB) })
	}
}

func TestC_AttemptTimeout(t *testing.T) {
	for _, l := range libs {
		t.Run(l.name, func(t *testing.T) { testSerial(t, l.timeout(t), scenarioC(l)) })
	}
}

// TestC_TimeoutFires proves that each library's per-attempt timeout is real: an attempt
// that waits for its context is cut off after exactly attemptTimeout (in synctest's
// virtual time), and the retry that follows succeeds.
func TestC_TimeoutFires(t *testing.T) {
	for _, l := range libs {
		t.Run(l.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				attempts := 0
				op := l.timeout(t)(context.Background(), func(ctx context.Context) error {
					attempts++
					if attempts == 1 {
						<-ctx.Done()
						return ctx.Err()
					}
					return nil
				})
				start := time.Now()
				if err := op(); err != nil {
					t.Fatalf("call failed: %v", err)
				}
				if attempts != 2 {
					t.Fatalf("made %d attempts, want 2", attempts)
				}
				if d := time.Since(start); d != attemptTimeout {
					t.Fatalf("the first attempt was cut off after %v, want %v", d, attemptTimeout)
				}
			})
		})
	}
}

func TestE_Budget(t *testing.T) {
	for _, l := range libs {
		if l.budget == nil {
			continue
		}
		t.Run(l.name, func(t *testing.T) { testParallel(t, l.budget(t), scenarioA) })
	}
}

var clockSink time.Time

// BenchmarkClock measures one time.Now(), which the hooks path and the retry budget pay
// for: on virtual machines it ranges from about 20 to over 100 ns, and the report puts
// the figure next to the machine's description.
func BenchmarkClock(b *testing.B) {
	b.Run("lib=time.Now", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			clockSink = time.Now()
		}
	})
}
