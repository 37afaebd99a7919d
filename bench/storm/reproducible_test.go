package storm

import (
	"reflect"
	"testing"
	"testing/synctest"
	"time"
)

// TestStormReproducible: for a seed, a jittered run comes out the same every time, to the
// write and the nanosecond. It fails if a jitter draws from anything but the seeded
// sources, such as math/rand/v2's per-thread generator.
func TestStormReproducible(t *testing.T) {
	const seed = 7
	for _, s := range jitterStrategies() {
		t.Run(s.name, func(t *testing.T) {
			type trial struct {
				writes  int
				elapsed time.Duration
			}
			run := func() []trial {
				var trials []trial
				synctest.Test(t, func(*testing.T) {
					for tr := range uint64(3) {
						w, d := runOCC(s, 30, seed, tr)
						trials = append(trials, trial{w, d})
					}
				})
				return trials
			}
			if a, b := run(), run(); !reflect.DeepEqual(a, b) {
				t.Errorf("two runs of seed %d: %v, then %v", seed, a, b)
			}
		})
	}
	t.Run("outage, full jitter", func(t *testing.T) {
		cfg := outageConfig{
			Clients:  100,
			Period:   time.Second,
			Warmup:   2 * time.Second,
			Outage:   3 * time.Second,
			After:    3 * time.Second,
			Capacity: 120,
			Latency:  2 * time.Millisecond,
			Bin:      100 * time.Millisecond,
		}
		v := outageVariant{Tries: 5, Jitter: true}
		run := func() (r outageRun) {
			synctest.Test(t, func(*testing.T) { r = runOutage(cfg, v, seed) })
			return r
		}
		if a, b := run(), run(); !reflect.DeepEqual(a, b) {
			t.Errorf("two runs of seed %d: load %v, then %v", seed, a.Load, b.Load)
		}
	})
}
