package storm

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retrykit/retry"
)

// Layered retries: a request goes through three services, each calling the next through
// its own retry policy, down to a service that fails every attempt. A policy at each
// layer multiplies the attempts of the layer above: MaxTries(3) three times over is 27
// attempts on the failing service per request.

// layersConfig sizes the scenario.
type layersConfig struct {
	Rate     int           // requests per second entering the top layer, evenly spaced
	Duration time.Duration // of the stream of requests
	Latency  time.Duration // one way, between two layers
}

// layersVariant is one row: how every layer retries.
type layersVariant struct {
	Name string
	Code string // the policy of the layers that retry, as written in Go
	// Ratio is each retrying layer's budget ratio (its own NewBudget(Ratio, 0)); 0: none.
	Ratio float64
	// BottomOnly: only the layer that calls the failing service retries; the layers above
	// receive its failure marked with retry.Permanent ("overloaded; don't retry").
	BottomOnly bool
}

func layersVariants() []layersVariant {
	const pol = "MaxTries(3), PauseWith(Exponential(10ms, 2, 1s))"
	return []layersVariant{
		{Name: "every layer retries, no budget", Code: pol},
		{Name: "every layer retries, a 10% budget per layer", Code: pol + ", Throttle(NewBudget(0.1, 0))", Ratio: 0.1},
		{Name: "every layer retries, a 20% budget per layer", Code: pol + ", Throttle(NewBudget(0.2, 0))", Ratio: 0.2},
		{Name: "only the bottom layer retries", Code: pol + "; above it, retry.Permanent", BottomOnly: true},
		{Name: "only the bottom layer retries, with a 10% budget", Code: pol + ", Throttle(NewBudget(0.1, 0)); above it, retry.Permanent", Ratio: 0.1, BottomOnly: true},
	}
}

// layersRun is what one variant did: Attempts[i] is the attempts made by layer i+1 (layer
// 3's are the failing service's load), per request.
type layersRun struct {
	Variant  layersVariant
	Requests int
	Attempts [3]float64
}

// runLayers runs one variant inside a synctest bubble.
func runLayers(cfg layersConfig, v layersVariant, seed uint64) layersRun {
	var policies [3]*retry.Policy
	for i := range policies {
		opts := []retry.Option{retry.MaxTries(3), retry.PauseWith(retry.Exponential(10*time.Millisecond, 2, time.Second))}
		if v.Ratio > 0 {
			opts = append(opts, retry.Throttle(retry.NewBudget(v.Ratio, 0)))
		}
		policies[i] = retry.MustNew(opts...)
	}
	var attempts [3]atomic.Int64
	// layer returns the function that layer i runs on each attempt: a call to layer i+1,
	// or to the failing service below the last layer.
	var layer func(i int) func(context.Context) error
	layer = func(i int) func(context.Context) error {
		return func(ctx context.Context) error {
			attempts[i].Add(1)
			time.Sleep(cfg.Latency)
			defer time.Sleep(cfg.Latency)
			if i == len(policies)-1 {
				return errDown
			}
			err := policies[i+1].Do(ctx, layer(i+1))
			if v.BottomOnly && err != nil {
				// The layer below has retried already: tell this layer not to.
				return retry.Permanent(err)
			}
			return err
		}
	}
	top := layer(0)
	requests := int(cfg.Duration.Seconds() * float64(cfg.Rate))
	every := time.Second / time.Duration(cfg.Rate)
	// Each request arrives at a seeded offset within its slot, so that no two events fall
	// on the same instant (the pauses are round numbers) and the run is the same every time.
	offsets := rand.New(rand.NewPCG(seed, 0x1a7e5))
	start := time.Now()
	var wg sync.WaitGroup
	for k := range requests {
		at := time.Duration(k)*every + time.Duration(offsets.Int64N(int64(every)))
		wg.Go(func() {
			time.Sleep(time.Until(start.Add(at)))
			if err := policies[0].Do(context.Background(), top); err == nil {
				panic("storm: a request succeeded against a service that is down")
			}
		})
	}
	wg.Wait()
	r := layersRun{Variant: v, Requests: requests}
	for i := range attempts {
		r.Attempts[i] = float64(attempts[i].Load()) / float64(requests)
	}
	return r
}

func runAllLayers(t *testing.T, cfg layersConfig, seed uint64) []layersRun {
	var runs []layersRun
	for _, v := range layersVariants() {
		synctest.Test(t, func(*testing.T) {
			runs = append(runs, runLayers(cfg, v, seed))
		})
	}
	return runs
}

func (r layersRun) String() string {
	return fmt.Sprintf("%s: %.2f / %.2f / %.2f", r.Variant.Name, r.Attempts[0], r.Attempts[1], r.Attempts[2])
}
