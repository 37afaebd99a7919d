package retry

import (
	"errors"
	"time"

	"github.com/retrykit/retrykit/hooks"
)

// Policy is a retry policy: how often, how long and on which errors to call a function
// again. Build it once with New and share it: it is immutable, and every call of Do keeps
// its state to itself, so one Policy serves any number of concurrent calls.
type Policy struct {
	name              string
	attemptTimeout    time.Duration
	hasAttemptTimeout bool
	deadline          time.Duration
	hasDeadline       bool
	maxTries          int     // 0: unlimited
	backoff           Backoff // nil: no pause
	onTargets         []error
	filters           []func(error) bool
	giveUps           []func(error) bool
	hookList          []hooks.Hooks
	hooks             hooks.Hooks // hookList composed
	hasHooks          bool
	bare              bool // nothing to time or observe: Do's first attempt needs no bookkeeping
	budget            *Budget
	hedge             *hedging // nil: no hedge option; Do refuses the policy, Hedge hedges
	hedgeGiven        uint8    // the hedge options given to this New or With, to refuse both at once
}

// New builds a Policy from options. An invalid option value is an error that names the
// option and the value, e.g. "retry: MaxTries(0): must be at least 1"; nothing is
// silently clamped.
func New(opts ...Option) (*Policy, error) {
	p := &Policy{}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(p); err != nil {
			return nil, err
		}
	}
	if err := p.finish(); err != nil {
		return nil, err
	}
	return p, nil
}

// finish checks what options imply together and computes the composed hooks and the
// fast-path flags.
func (p *Policy) finish() error {
	if err := p.finishHedge(); err != nil {
		return err
	}
	p.hooks = hooks.Compose(p.hookList...)
	h := &p.hooks
	p.hasHooks = h.OnStart != nil || h.OnAttempt != nil || h.OnAttemptEnd != nil || h.OnTimeout != nil ||
		h.OnRetry != nil || h.OnGiveup != nil || h.OnDeadline != nil || h.OnDone != nil
	p.bare = !p.hasHooks && !p.hasAttemptTimeout && !p.hasDeadline && p.budget == nil && p.hedge == nil
	return nil
}

// MustNew is New for policies built from constants: it panics where New would return an
// error.
func MustNew(opts ...Option) *Policy {
	p, err := New(opts...)
	if err != nil {
		panic(err)
	}
	return p
}

// Times is aiomisc's @asyncretry(n): a policy of at most n attempts, with no timeout
// and no pause unless opts add them. It is MustNew(MaxTries(n), opts...), and so panics
// for n < 1.
func Times(n int, opts ...Option) *Policy {
	return MustNew(append([]Option{MaxTries(n)}, opts...)...)
}

// retryable reports whether err passes the filter of On, OnType and If.
func (p *Policy) retryable(err error) bool {
	if len(p.onTargets) == 0 && len(p.filters) == 0 {
		return true
	}
	for _, t := range p.onTargets {
		if errors.Is(err, t) {
			return true
		}
	}
	for _, f := range p.filters {
		if f(err) {
			return true
		}
	}
	return false
}

// givesUp reports whether a GiveUp predicate says stop for err.
func (p *Policy) givesUp(err error) bool {
	for _, f := range p.giveUps {
		if f(err) {
			return true
		}
	}
	return false
}
