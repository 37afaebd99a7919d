package retry

import (
	"math"
	"sync/atomic"
	"time"
)

// Bounds of the estimator's window of samples.
const (
	minQuantileWindow = 64
	maxQuantileWindow = 4096
)

// estimator is HedgeAtQuantile's delay: the q-quantile of the durations of the last
// len(ring) successful attempts, never below floor, and floor until half the window was
// filled.
//
// Reading the delay is one atomic load, recording a sample an atomic add and store: the
// quantile itself is recomputed by the recorder of every len(ring)/8-th sample, with a
// selection over a copy of the window (linear time), while a flag keeps a second
// recomputation from overlapping it; a recomputation skipped that way is made up by the
// next one. Concurrent recorders may leave a slot of the window a sample behind for a
// moment: the estimate is that of a window give or take a sample, which is all it needs.
type estimator struct {
	q       float64
	floor   int64 // nanoseconds
	mask    uint64
	warm    uint64 // samples before the estimate replaces floor
	every   uint64 // recompute every this many samples
	n       atomic.Uint64
	cur     atomic.Int64 // the delay in nanoseconds
	busy    atomic.Bool  // a recomputation is under way; it owns scratch
	ring    []atomic.Int64
	scratch []int64
}

func newEstimator(q float64, floor time.Duration) *estimator {
	size := minQuantileWindow
	for float64(size) < 20/(1-q) && size < maxQuantileWindow {
		size *= 2
	}
	e := &estimator{
		q:       q,
		floor:   int64(floor),
		mask:    uint64(size - 1),
		warm:    uint64(size / 2),
		every:   uint64(size / 8),
		ring:    make([]atomic.Int64, size),
		scratch: make([]int64, size),
	}
	e.cur.Store(int64(floor))
	return e
}

// delay returns the current hedge delay.
func (e *estimator) delay() time.Duration {
	return time.Duration(e.cur.Load())
}

// record adds the duration of a successful attempt.
func (e *estimator) record(d time.Duration) {
	// n counts every sample of the policy's life: at one per nanosecond it would take
	// five centuries to wrap, and a wrap would only restart the warm-up.
	i := e.n.Add(1)
	e.ring[(i-1)&e.mask].Store(int64(d))
	if i >= e.warm && (i-e.warm)%e.every == 0 {
		e.update(min(i, e.mask+1))
	}
}

// update recomputes the quantile over the latest n samples, unless another update is
// under way.
func (e *estimator) update(n uint64) {
	if !e.busy.CompareAndSwap(false, true) {
		return
	}
	s := e.scratch[:n]
	for i := range s {
		s[i] = e.ring[i].Load()
	}
	// Nearest rank: the smallest sample with at least q of the samples at or below it.
	k := int(math.Ceil(e.q*float64(n))) - 1
	k = max(0, min(k, len(s)-1))
	e.cur.Store(max(selectKth(s, k), e.floor))
	e.busy.Store(false)
}

// selectKth returns the k-th smallest element of s (0-based), reordering s: Hoare's
// selection with a median-of-three pivot, linear on average.
func selectKth(s []int64, k int) int64 {
	lo, hi := 0, len(s)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		// Median of three into s[mid].
		if s[lo] > s[mid] {
			s[lo], s[mid] = s[mid], s[lo]
		}
		if s[mid] > s[hi] {
			s[mid], s[hi] = s[hi], s[mid]
			if s[lo] > s[mid] {
				s[lo], s[mid] = s[mid], s[lo]
			}
		}
		pivot := s[mid]
		i, j := lo, hi
		for i <= j {
			for s[i] < pivot {
				i++
			}
			for s[j] > pivot {
				j--
			}
			if i <= j {
				s[i], s[j] = s[j], s[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return s[k]
		}
	}
	return s[k]
}
