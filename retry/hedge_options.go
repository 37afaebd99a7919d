package retry

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// hedging is the hedge option of a policy: a fixed delay, or the adaptive one of
// HedgeAtQuantile.
type hedging struct {
	after time.Duration // HedgeAfter's delay; 0 for HedgeAtQuantile
	q     float64       // HedgeAtQuantile's quantile; 0 for HedgeAfter
	floor time.Duration // HedgeAtQuantile's floor
	est   *estimator    // HedgeAtQuantile's estimate, one per Policy (New and With make their own)
}

// String returns the option as written in Go, for New's errors.
func (h *hedging) String() string {
	if h.q > 0 {
		return fmt.Sprintf("HedgeAtQuantile(%v, %v)", h.q, h.floor)
	}
	return fmt.Sprintf("HedgeAfter(%v)", h.after)
}

// delay returns the hedge delay to use for a call starting now.
func (h *hedging) delay() time.Duration {
	if h.est != nil {
		return h.est.delay()
	}
	return h.after
}

// The bits of Policy.hedgeGiven.
const (
	hedgeGivenAfter uint8 = 1 << iota
	hedgeGivenQuantile
)

// HedgeAfter makes the policy hedge: when the latest attempt of a call has run d without
// an answer, another attempt starts while it goes on, and the first success ends the call
// (see Hedge for the rules). A policy with a hedge option is called with Hedge or
// HedgeValue: Do, DoValue and Wrap panic on it, since they never start a goroutine and
// hedged attempts need one each.
//
// Hedging needs MaxTries, which bounds the attempts of a call, hedges and retries
// together; fn must be safe for concurrent calls and its effect idempotent, since two
// attempts of one call may run at once. d <= 0, a hedge option without MaxTries, and
// HedgeAfter together with HedgeAtQuantile are errors from New.
func HedgeAfter(d time.Duration) Option {
	return func(p *Policy) error {
		if d <= 0 {
			return optionError("HedgeAfter", d, "must be positive")
		}
		p.hedge = &hedging{after: d}
		p.hedgeGiven |= hedgeGivenAfter
		return nil
	}
}

// HedgeAtQuantile makes the policy hedge, as HedgeAfter does, after an adaptive delay:
// the q-quantile of the durations of the recent successful attempts of the policy's
// calls, never below floor. With q = 0.95 about one call in twenty hedges when latencies
// stay as they were.
//
// The estimate is bounded in memory and lock-free: it keeps the durations of the last N
// successful attempts, N = 20/(1-q) rounded up to a power of two and kept between 64 and
// 4096 (512 for q = 0.95), and recomputes the quantile every N/8 successes. Until N/2
// successes were seen the delay is floor. A call reads the delay once, when it starts.
// Every call of the policy, and only of this policy, feeds it: a policy derived with With
// learns on its own, from floor.
//
// Only successful attempts are measured: an attempt that a faster one superseded never
// reports its duration, so the estimate sees a tail cut at the hedge delay plus the
// hedge's own time. Choose floor near the latency of a healthy answer.
//
// q outside (0, 1), floor <= 0, a hedge option without MaxTries, and HedgeAtQuantile
// together with HedgeAfter are errors from New.
func HedgeAtQuantile(q float64, floor time.Duration) Option {
	return func(p *Policy) error {
		args := fmt.Sprintf("%v, %v", q, floor)
		if math.IsNaN(q) || q <= 0 || q >= 1 {
			return optionError("HedgeAtQuantile", args, "q must be between 0 and 1, both excluded")
		}
		if floor <= 0 {
			return optionError("HedgeAtQuantile", args, "floor must be positive")
		}
		p.hedge = &hedging{q: q, floor: floor}
		p.hedgeGiven |= hedgeGivenQuantile
		return nil
	}
}

// finishHedge checks the hedge option against the others and gives the policy its own
// estimator.
func (p *Policy) finishHedge() error {
	if p.hedgeGiven == hedgeGivenAfter|hedgeGivenQuantile {
		return errors.New("retry: HedgeAfter and HedgeAtQuantile: give only one hedge option")
	}
	if p.hedge == nil {
		return nil
	}
	if p.maxTries == 0 {
		return fmt.Errorf("retry: %v: needs MaxTries", p.hedge)
	}
	if p.hedge.q > 0 {
		h := *p.hedge
		h.est = newEstimator(h.q, h.floor)
		p.hedge = &h
	}
	return nil
}
