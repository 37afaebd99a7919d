package storm

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retrykit/retry"
)

// The simulation of "Exponential Backoff And Jitter" (AWS Architecture Blog, 2015) as its
// published simulator (aws-samples/aws-arch-backoff-simulator) runs it: every client
// wants to update one row exactly once, under optimistic concurrency. An attempt reads the
// row's version, then writes with that version; the write succeeds if nobody wrote since
// the read, and fails otherwise. Each of the four messages of an attempt (read request,
// read reply, write request, write reply) takes a network delay of |N(10 ms, 2 ms)|. On a
// failed write the client pauses as its backoff says and starts over. Work is the number
// of writes the row received (the blog's "calls"); time is when the last client got its
// successful reply. Every figure is the mean over a number of trials.

// errConflict is the failed conditional write.
var errConflict = errors.New("storm: version conflict")

// occRow is the contended row: one version number.
type occRow struct {
	mu      sync.Mutex // clients woken at the same virtual instant run in parallel
	version int
	writes  int
}

func (r *occRow) read() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.version
}

// write is the conditional write: it succeeds if the row is still at version v.
func (r *occRow) write(v int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes++
	if v != r.version {
		return false
	}
	r.version++
	return true
}

// netDelay is one message's trip: |N(10 ms, 2 ms)|, the simulator's network model.
func netDelay(r *rand.Rand) time.Duration {
	return time.Duration(math.Abs(r.NormFloat64()*2e6 + 10e6))
}

// strategy is one backoff of the comparison, built with retrykit's constructors.
type strategy struct {
	name string
	code string // how it is written in Go, for the report
	// pause builds the backoff of one client, whose jitter draws from src; nil: no pause.
	pause func(src retry.Source) retry.Backoff
}

// policy is the policy of one client, whose jitter draws from src.
func (s strategy) policy(src retry.Source) *retry.Policy {
	if s.pause == nil {
		return retry.MustNew()
	}
	return retry.MustNew(retry.PauseWith(s.pause(src)))
}

// The blog's parameters: base 5 ms, cap 2 s. Its exponential pause after failure n is
// min(cap, base*2^n), so 10 ms after the first failure: retrykit's Exponential counts
// from the first failure, hence a base of 10 ms for the same pauses. Its decorrelated
// jitter draws the first pause from [base, 3·base]; Decorrelated pauses exactly base
// first (STORM.md discusses what that changes). The jitters are the *From forms, which
// draw from the client's seeded source: the same pauses as FullJitter, EqualJitter and
// Decorrelated, reproducible for a seed.
func jitterStrategies() []strategy {
	exp := retry.Exponential(10*time.Millisecond, 2, 2*time.Second)
	return []strategy{
		{"no backoff", "(no pause)", nil},
		{"exponential", "Exponential(10ms, 2, 2s)", func(retry.Source) retry.Backoff { return exp }},
		{"full jitter", "FullJitter(Exponential(10ms, 2, 2s))", func(src retry.Source) retry.Backoff {
			return retry.FullJitterFrom(src, exp)
		}},
		{"equal jitter", "EqualJitter(Exponential(10ms, 2, 2s))", func(src retry.Source) retry.Backoff {
			return retry.EqualJitterFrom(src, exp)
		}},
		{"decorrelated", "Decorrelated(5ms, 2s)", func(src retry.Source) retry.Backoff {
			return retry.DecorrelatedFrom(src, 5*time.Millisecond, 2*time.Second)
		}},
	}
}

// jitterStream tells a client's jitter generator from its network generator, seeded
// with the same seed, trial and client index.
const jitterStream = 1 << 32

// runOCC runs one trial inside a synctest bubble: clients contend for a fresh row,
// each through its own policy of strategy s. It returns the writes the row received and
// the time until the last client succeeded.
func runOCC(s strategy, clients int, seed, trial uint64) (writes int, elapsed time.Duration) {
	start := time.Now()
	var row occRow
	var wg sync.WaitGroup
	for i := range clients {
		// Each client draws its network delays and its pauses from its own generators,
		// so a trial's draws do not depend on the order in which goroutines run. The
		// client's goroutine is the only user of both: a plain *rand.Rand will do.
		r := rand.New(rand.NewPCG(seed<<32|trial, uint64(i)))
		p := s.policy(rand.New(rand.NewPCG(seed<<32|trial, jitterStream|uint64(i))))
		wg.Go(func() {
			err := p.Do(context.Background(), func(context.Context) error {
				time.Sleep(netDelay(r))
				v := row.read()
				time.Sleep(netDelay(r) + netDelay(r))
				ok := row.write(v)
				time.Sleep(netDelay(r))
				if !ok {
					return errConflict
				}
				return nil
			})
			if err != nil {
				panic(err) // the policy has no limit: only success ends a call
			}
		})
	}
	wg.Wait()
	return row.writes, time.Since(start)
}

// mean is a sample mean with its standard error.
type mean struct{ Mean, SE float64 }

func meanOf(xs []float64) mean {
	var s float64
	for _, x := range xs {
		s += x
	}
	m := s / float64(len(xs))
	if len(xs) < 2 {
		return mean{Mean: m}
	}
	var v float64
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	v /= float64(len(xs) - 1)
	return mean{Mean: m, SE: math.Sqrt(v / float64(len(xs)))}
}

// jitterPoint is one strategy at one client count.
type jitterPoint struct {
	Work mean // writes
	Time mean // seconds
}

// jitterResult holds the whole table: Points[strategy][clients index].
type jitterResult struct {
	Strategies []strategy
	Clients    []int
	Trials     int
	Points     [][]jitterPoint
}

func (r *jitterResult) at(name string, clients int) jitterPoint {
	for si, s := range r.Strategies {
		if s.name != name {
			continue
		}
		for ci, c := range r.Clients {
			if c == clients {
				return r.Points[si][ci]
			}
		}
	}
	panic("storm: no point " + name + " at that client count")
}

// runJitter runs every strategy at every client count, trials times each, one bubble
// per point.
func runJitter(t *testing.T, clients []int, trials int, seed uint64) *jitterResult {
	res := &jitterResult{Strategies: jitterStrategies(), Clients: clients, Trials: trials}
	for _, s := range res.Strategies {
		row := make([]jitterPoint, len(clients))
		for ci, n := range clients {
			work := make([]float64, trials)
			secs := make([]float64, trials)
			synctest.Test(t, func(*testing.T) {
				for tr := range trials {
					w, d := runOCC(s, n, seed, uint64(tr))
					work[tr], secs[tr] = float64(w), d.Seconds()
				}
			})
			row[ci] = jitterPoint{Work: meanOf(work), Time: meanOf(secs)}
		}
		res.Points = append(res.Points, row)
	}
	return res
}
