package retry

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retrykit/hooks"
)

func TestWithOverridesAndAddsUp(t *testing.T) {
	var seen []string
	base := MustNew(Name("base"), MaxTries(2), On(errValue),
		Hooks(hooks.Hooks{OnStart: func(ctx context.Context, c hooks.Call) context.Context {
			seen = append(seen, "base:"+c.Name)
			return nil
		}}))
	derived, err := base.With(Name("derived"), MaxTries(3), On(errOther),
		Hooks(hooks.Hooks{OnDone: func(ctx context.Context, r hooks.Result) {
			seen = append(seen, "derived:"+r.Outcome.String())
		}}))
	if err != nil {
		t.Fatal(err)
	}

	var c counter
	err = derived.Do(context.Background(), func(context.Context) error {
		if c.add()%2 == 1 {
			return errOther // retryable only through the derived filter
		}
		return errValue // retryable through the base filter
	})
	if c.count() != 3 || !errors.Is(err, ErrExhausted) {
		t.Errorf("derived: %d attempts, %v; want 3 attempts (its MaxTries), ErrExhausted", c.count(), err)
	}
	if want := []string{"base:derived", "derived:exhausted"}; !slices.Equal(seen, want) {
		t.Errorf("hooks saw %q, want %q", seen, want)
	}

	// The base policy is unchanged: its own name, limit, filter and hooks only.
	seen = nil
	c = counter{}
	err = base.Do(context.Background(), func(context.Context) error { c.add(); return errOther })
	if c.count() != 1 || !errors.Is(err, ErrPermanent) {
		t.Errorf("base after With: %d attempts, %v; want 1 attempt, ErrPermanent", c.count(), err)
	}
	if want := []string{"base:base"}; !slices.Equal(seen, want) {
		t.Errorf("base hooks saw %q, want %q", seen, want)
	}
}

func TestWithDoesNotShareBackingArrays(t *testing.T) {
	// Two policies derived from one base must not append into each other's filters.
	base := MustNew(On(errValue))
	a, _ := base.With(On(errOther))
	errThird := errors.New("third")
	b, _ := base.With(On(errThird))
	if a.retryable(errThird) || b.retryable(errOther) || base.retryable(errOther) {
		t.Fatal("derived policies share their filter lists")
	}
}

func TestWithInvalidOption(t *testing.T) {
	_, err := MustNew().With(MaxTries(0))
	if err == nil || err.Error() != "retry: MaxTries(0): must be at least 1" {
		t.Fatalf("With(MaxTries(0)) = %v", err)
	}
}

func TestWithSharesBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(0, 1) // a reserve of 10 retries in the window
		base := MustNew(Throttle(b))
		derived, _ := base.With(Name("x"))
		fail := func(context.Context) error { return errValue }
		err1 := base.Do(context.Background(), fail)
		err2 := derived.Do(context.Background(), fail)
		// Each call retries until the shared reserve runs out: the first takes all 10.
		var e1, e2 *Error
		if !errors.As(err1, &e1) || !errors.As(err2, &e2) || e1.Attempts != 11 || e2.Attempts != 1 {
			t.Fatalf("attempts %v, %v; want 11 then 1 from one shared budget", err1, err2)
		}
	})
}

func TestCallContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		got, cancel := MustNew().CallContext(ctx)
		cancel()
		if got != ctx {
			t.Error("without a Deadline, CallContext derived a context")
		}

		p := MustNew(Deadline(time.Second))
		start := time.Now()
		cctx, cancel := p.CallContext(ctx)
		defer cancel()
		if dl, ok := cctx.Deadline(); !ok || dl.Sub(start) != time.Second {
			t.Fatalf("deadline %v, %v; want start+1s", dl, ok)
		}
		var callDL time.Time
		q, _ := p.With(Hooks(hooks.Hooks{OnStart: func(ctx context.Context, c hooks.Call) context.Context {
			callDL = c.Deadline
			return nil
		}}))
		time.Sleep(300 * time.Millisecond)
		_ = q.Do(cctx, func(context.Context) error { return nil })
		if !callDL.Equal(start.Add(time.Second)) {
			t.Errorf("call deadline under CallContext = start%+v, want start+1s", callDL.Sub(start))
		}
		time.Sleep(time.Second)
		if cctx.Err() == nil {
			t.Error("CallContext's context outlived the policy's Deadline")
		}
	})
}

func TestWithNilPolicyPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("With on a nil policy did not panic")
		}
	}()
	var p *Policy
	_, _ = p.With()
}

func BenchmarkCallContextWithoutDeadline(b *testing.B) {
	p := MustNew(MaxTries(3))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c, cancel := p.CallContext(ctx)
		cancel()
		_ = c
	}
}
