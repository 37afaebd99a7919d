package retry

import (
	"context"
	"testing"
	"time"
)

// BenchmarkHedge measures what Hedge adds to a call that succeeds at the first try, the
// case of nearly every call of a healthy service: the attempt's goroutine, its
// cancelable context, the hedge timer and, for HedgeAtQuantile, the estimator. The Do
// rows are the same call without hedging, for the ratio.
func BenchmarkHedge(b *testing.B) {
	ctx := context.Background()
	ok := func(context.Context) error { return nil }
	run := func(name string, call func() error) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := call(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	do := MustNew(MaxTries(3))
	run("Do-first-try", func() error { return do.Do(ctx, ok) })
	// An attempt timeout costs Do what a context.WithTimeout costs: the yardstick.
	doTimeout := MustNew(MaxTries(3), AttemptTimeout(100*time.Millisecond))
	run("Do-first-try-timeout", func() error { return doTimeout.Do(ctx, ok) })
	after := MustNew(MaxTries(3), HedgeAfter(time.Second))
	run("HedgeAfter-first-try", func() error { return after.Hedge(ctx, ok) })
	quantile := MustNew(MaxTries(3), HedgeAtQuantile(0.95, time.Second))
	run("HedgeAtQuantile-first-try", func() error { return quantile.Hedge(ctx, ok) })
	run("HedgeValue-first-try", func() error {
		_, err := HedgeValue(ctx, quantile, func(context.Context) (int, error) { return 1, nil })
		return err
	})
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	timeouts := MustNew(MaxTries(3), AttemptTimeout(time.Second), Deadline(10*time.Second))
	run("Do-first-try-timeouts-cancelable", func() error { return timeouts.Do(cctx, ok) })
	hedgeTimeouts := MustNew(MaxTries(3), AttemptTimeout(time.Second), Deadline(10*time.Second), HedgeAtQuantile(0.95, time.Second))
	run("Hedge-first-try-timeouts-cancelable", func() error { return hedgeTimeouts.Hedge(cctx, ok) })
	plain := MustNew(MaxTries(3))
	run("Hedge-plain-policy", func() error { return plain.Hedge(ctx, ok) })
}

// BenchmarkEstimator measures the adaptive delay's bookkeeping alone: a sample recorded
// per call (with a recomputation every N/8 samples) and the delay read.
func BenchmarkEstimator(b *testing.B) {
	e := newEstimator(0.95, time.Millisecond)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		d := time.Duration(0)
		for pb.Next() {
			d += 997
			e.record(d % (20 * time.Millisecond))
			_ = e.delay()
		}
	})
}
