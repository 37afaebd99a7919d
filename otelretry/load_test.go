package otelretry_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/retrykit/retrykit/retry"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// TestExactnessUnderLoad drives calls with random outcomes from many goroutines through
// one policy and one Hooks value, counts calls, attempts and retries independently, and
// checks that the histograms and the spans count exactly the same.
func TestExactnessUnderLoad(t *testing.T) {
	const (
		goroutines = 16
		calls      = 200 // per goroutine
	)
	e := newEnv(t)
	errStop := errors.New("stop")
	p := retry.MustNew(retry.Name("load"), retry.MaxTries(4),
		retry.GiveUp(func(err error) bool { return errors.Is(err, errStop) }),
		retry.Hooks(e.hooks))

	var attempts, retries, failures atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 42))
			for range calls {
				n := 0
				err := p.Do(context.Background(), func(context.Context) error {
					attempts.Add(1)
					if n > 0 {
						retries.Add(1) // this attempt is a retry of the one before
					}
					n++
					switch r := rng.IntN(10); {
					case r < 4:
						return nil
					case r < 5:
						return errStop // gave up
					case r < 6:
						return retry.Permanent(errBoom)
					default:
						return errBoom // retried, or exhausted at the fourth
					}
				})
				if err != nil {
					failures.Add(1)
				}
			}
		})
	}
	wg.Wait()

	wantCalls := int64(goroutines * calls)
	got := e.collect(t)
	var callCount, callFailures, attemptSum, attemptCount, backoffCount int64
	for _, p := range got["retry.call.duration"].Data.(metricdata.Histogram[float64]).DataPoints {
		callCount += int64(p.Count)
		if v, _ := p.Attributes.Value("retry.outcome"); v.AsString() != "success" {
			callFailures += int64(p.Count)
		}
	}
	for _, p := range got["retry.call.attempts"].Data.(metricdata.Histogram[int64]).DataPoints {
		attemptSum += p.Sum
	}
	for _, p := range got["retry.attempt.duration"].Data.(metricdata.Histogram[float64]).DataPoints {
		attemptCount += int64(p.Count)
	}
	for _, p := range got["retry.backoff.duration"].Data.(metricdata.Histogram[float64]).DataPoints {
		backoffCount += int64(p.Count)
	}
	if callCount != wantCalls || callFailures != failures.Load() {
		t.Errorf("retry.call.duration counts %d calls, %d failed; want %d, %d", callCount, callFailures, wantCalls, failures.Load())
	}
	if attemptSum != attempts.Load() || attemptCount != attempts.Load() {
		t.Errorf("attempts: retry.call.attempts sums %d, retry.attempt.duration counts %d; want %d", attemptSum, attemptCount, attempts.Load())
	}
	if backoffCount != retries.Load() {
		t.Errorf("retry.backoff.duration counts %d, want %d retries", backoffCount, retries.Load())
	}
	started, ended := len(e.sr.Started()), len(e.sr.Ended())
	if want := int(wantCalls + attempts.Load()); started != want || ended != want {
		t.Errorf("%d spans started, %d ended; want calls + attempts = %d", started, ended, want)
	}
	if retries.Load() == 0 || failures.Load() == 0 || failures.Load() == wantCalls {
		t.Errorf("the workload is not mixed: %d retries, %d failures", retries.Load(), failures.Load())
	}
}
