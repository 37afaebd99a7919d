package retry

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"
)

// The sliding window of a Budget: budgetBuckets buckets of budgetSlot each, as in
// Finagle's RetryBudget (a WindowedAdder of 10 one-second slices).
const (
	budgetWindow  = 10 * time.Second
	budgetBuckets = 10
	budgetSlot    = budgetWindow / budgetBuckets
)

// maxStripes caps the call counters' striping: enough to keep cores apart, few enough
// that summing them on a retry stays cheap.
const maxStripes = 64

// Budget is a retry budget: it caps the retries of every policy that shares it (see
// Throttle) at a fraction of the calls they make, so that a failing dependency receives
// at most that much extra load from retries however many callers fail at once. The
// first attempt of a call is never refused: a budget limits retries, not calls.
//
// Over a sliding window of 10 seconds, a retry is allowed while the retries in the window,
// this one included, stay at most
//
//	ratio × (calls started in the window) + minPerSecond × 10
//
// and a retry that is allowed counts in the window. These are the semantics of Finagle's
// RetryBudget: ratio is its percentCanRetry, minPerSecond its minRetriesPerSec, a reserve
// that lets a rarely called operation retry at all. Retries refused do not count, so a
// burst of failures is cut to the allowance and the calls retry again as the window
// slides past it or as new calls (successful ones included) widen it.
//
// Granularity: the window is made of 10 buckets of one second, counted from the moment
// NewBudget was called (on the monotonic clock). A call or retry counts for the rest of
// its second and the 9 seconds after it: between 9 and 10 seconds. Counts are exact; only
// retries racing each other across a bucket boundary may see the one counted on the other
// side a moment late.
//
// A Budget is safe for concurrent use and is meant to be shared. Counting a call costs a
// clock read and an atomic add on one of several counter stripes, chosen at random so
// that cores do not contend for one cache line; it never locks and never allocates.
// Checking a retry sums the window and updates it with compare-and-swap.
//
// The window follows time.Now: in tests under testing/synctest, make the budget inside
// the bubble so that it runs on the bubble's clock, and the counts are exact.
type Budget struct {
	ratio        float64
	minPerSecond int
	reserve      float64 // minPerSecond × the window in seconds
	origin       time.Time
	mask         uint32 // len(calls)-1, a power of two minus one
	calls        []callStripe
	retries      [budgetBuckets]atomic.Uint64
}

// callStripe is one stripe of the calls counters: one word per bucket. A word holds the
// bucket's epoch (the slot number + 1, so that 0 means unused) in its high 32 bits and its
// count in the low 32. The padding keeps stripes on separate cache lines.
type callStripe struct {
	buckets [budgetBuckets]atomic.Uint64
	_       [128 - budgetBuckets*8%128]byte
}

// NewBudget returns a budget that allows ratio retries per call started plus a reserve of
// minPerSecond retries per second, over a sliding window of 10 seconds: NewBudget(0.1, 10)
// allows 10% retries on top of the calls, and at least 100 retries per 10 seconds
// however few the calls. NewBudget(0, 0) allows no retry; NewBudget(0, n) is a plain
// rate limit of 10×n retries per 10 seconds.
//
// A negative, infinite or NaN ratio, or a negative minPerSecond, is an error when the
// budget is given to Throttle.
func NewBudget(ratio float64, minPerSecond int) *Budget {
	// Four stripes per core: with stripes picked at random, two cores seldom meet on one.
	stripes := 1
	for stripes < 4*runtime.GOMAXPROCS(0) && stripes < maxStripes {
		stripes *= 2
	}
	return newBudget(ratio, minPerSecond, stripes)
}

func newBudget(ratio float64, minPerSecond, stripes int) *Budget {
	return &Budget{
		ratio:        ratio,
		minPerSecond: minPerSecond,
		reserve:      float64(minPerSecond) * budgetWindow.Seconds(),
		origin:       time.Now(),
		mask:         uint32(stripes - 1),
		calls:        make([]callStripe, stripes),
	}
}

// String returns the budget as written in Go, e.g. "NewBudget(0.1, 10)".
func (b *Budget) String() string {
	if b.calls == nil {
		return "Budget{}"
	}
	return "NewBudget(" + strconv.FormatFloat(b.ratio, 'g', -1, 64) + ", " + strconv.Itoa(b.minPerSecond) + ")"
}

var (
	errBudgetZero        = errors.New("budget must be made by NewBudget")
	errRatioNaN          = errors.New("ratio must be a number")
	errRatioNegative     = errors.New("ratio must not be negative")
	errRatioInfinite     = errors.New("ratio must be finite")
	errMinPerSecNegative = errors.New("minPerSecond must not be negative")
)

// check reports invalid parameters; Throttle wraps the problem as
// "retry: Throttle(NewBudget(...)): <problem>".
func (b *Budget) check() error {
	switch {
	case b.calls == nil:
		return errBudgetZero
	case math.IsNaN(b.ratio):
		return errRatioNaN
	case b.ratio < 0:
		return errRatioNegative
	case math.IsInf(b.ratio, 1):
		return errRatioInfinite
	case b.minPerSecond < 0:
		return errMinPerSecNegative
	}
	return nil
}

// epoch returns the number of the current slot, plus 1.
func (b *Budget) epoch() uint32 {
	elapsed := time.Since(b.origin)
	if elapsed < 0 { // a clock without monotonic reading went back
		elapsed = 0
	}
	// Wraps after 136 years of one budget, beyond anything that counts here.
	return uint32(elapsed/budgetSlot) + 1
}

// onCall counts the start of a call. It runs at the start of every call of every policy
// sharing b, first tries that succeed included, so it is a clock read and an atomic add.
func (b *Budget) onCall() {
	if b.ratio == 0 { // calls do not widen the allowance: nothing to count
		return
	}
	ep := b.epoch()
	s := &b.calls[0]
	if b.mask != 0 {
		s = &b.calls[rand.Uint32()&b.mask]
	}
	w := &s.buckets[ep%budgetBuckets]
	for {
		old := w.Load()
		if e := uint32(old >> 32); e == ep || int32(ep-e) < 0 {
			// The bucket is current (or a later slot took it while this goroutine was
			// held up: the call then counts there). 2^32 calls in one second on one
			// stripe would be needed to carry into the epoch.
			w.Add(1)
			return
		}
		// The bucket holds an expired slot: start it afresh, unless another goroutine
		// just did.
		if w.CompareAndSwap(old, uint64(ep)<<32|1) {
			return
		}
	}
}

// inWindow returns the count of bucket word w if it belongs to the window ending in the
// slot of epoch ep, else 0.
func inWindow(w uint64, ep uint32) uint64 {
	if ep-uint32(w>>32) < budgetBuckets {
		return w & math.MaxUint32
	}
	return 0
}

// allowRetry reports whether the budget allows one more retry now, and if so counts it.
func (b *Budget) allowRetry() bool {
	if b.ratio == 0 && b.reserve == 0 {
		return false
	}
	ep := b.epoch()
	var calls uint64
	if b.ratio > 0 {
		for i := range b.calls {
			for j := range b.calls[i].buckets {
				calls += inWindow(b.calls[i].buckets[j].Load(), ep)
			}
		}
	}
	// The tolerance makes decimal ratios exact: 0.29 × 100 is 28.999999999999996 in
	// floating point, and must allow 29 retries.
	limit := (b.ratio*float64(calls) + b.reserve) * (1 + 1e-9)
	cur := int(ep % budgetBuckets)
	w := &b.retries[cur]
	for {
		old := w.Load()
		retries := inWindow(old, ep)
		for i := range b.retries {
			if i != cur {
				retries += inWindow(b.retries[i].Load(), ep)
			}
		}
		if float64(retries+1) > limit {
			return false
		}
		next := old + 1
		if e := uint32(old >> 32); e != ep {
			if int32(ep-e) < 0 {
				// A later slot took the bucket while this goroutine was held up: look
				// again at the window as it is now.
				return b.allowRetry()
			}
			next = uint64(ep)<<32 | 1
		}
		// Retries are counted in one word per bucket, so concurrent retries in the same
		// slot serialise here and never overdraw the budget.
		if w.CompareAndSwap(old, next) {
			return true
		}
	}
}

// refundRetry gives back a retry that allowRetry took but that will not be made: the
// engine consults the budget before the deadline rule (a refusal is Throttled even when
// the pause would also outlast the deadline), so a call that then ends with Deadline
// returns the retry it was charged. The retry is taken back from the current bucket; if
// a bucket boundary passed since allowRetry, the refund is lost, and the window merely
// counts one retry too many until it slides.
func (b *Budget) refundRetry() {
	ep := b.epoch()
	w := &b.retries[ep%budgetBuckets]
	for {
		old := w.Load()
		if uint32(old>>32) != ep || old&math.MaxUint32 == 0 {
			return
		}
		if w.CompareAndSwap(old, old-1) {
			return
		}
	}
}
