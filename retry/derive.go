package retry

import (
	"context"
	"slices"
)

// With returns a policy that is p with opts applied after p's own options, and leaves p
// unchanged. It is the way to give one kind of call its own name, hooks or limits while
// sharing everything else, for example a name per HTTP method or gRPC method:
//
//	get, err := base.With(retry.Name("inventory.get"))
//
// The options follow New's rules: the options that set one value replace p's, while the
// filters, GiveUp and Hooks add to p's. A budget set with Throttle is shared, not copied,
// so both policies draw from it. The error is New's for an invalid option.
//
// With builds a new Policy (an allocation and the composition of its hooks): derive
// policies once, or cache them per name, rather than once per call. A policy derived from
// one with HedgeAtQuantile learns its hedge delay on its own, from floor: a derived policy
// is meant for a kind of call of its own, with latencies of its own.
func (p *Policy) With(opts ...Option) (*Policy, error) {
	if p == nil {
		panic("retry: With called on a nil *Policy (build one with retry.New)")
	}
	q := *p
	// The copy must not append into p's backing arrays.
	q.onTargets = slices.Clip(p.onTargets)
	q.filters = slices.Clip(p.filters)
	q.giveUps = slices.Clip(p.giveUps)
	q.hookList = slices.Clip(p.hookList)
	q.hedgeGiven = 0 // a hedge option given here replaces p's
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&q); err != nil {
			return nil, err
		}
	}
	if err := q.finish(); err != nil {
		return nil, err
	}
	return &q, nil
}

// noCancel is CallContext's cancel when it derived nothing: a package-level func, so
// returning it allocates nothing.
func noCancel() {}

// CallContext returns ctx bounded by the policy's Deadline, counted from now, and the
// function that releases it. A call of Do under the returned context has the same call
// deadline as under ctx (give or take the nanoseconds between the two clock reads), and
// what a successful attempt hands back to the caller (a response body, a stream) can be
// bound to the returned context, so that it outlives Do but not the call's deadline.
//
// Without a Deadline option it returns ctx itself and a cancel that does nothing, at no
// cost. Call cancel when the work bound to the context is done, as with
// context.WithTimeout.
func (p *Policy) CallContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if p == nil {
		panic("retry: CallContext called on a nil *Policy (build one with retry.New)")
	}
	if ctx == nil {
		panic("retry: CallContext called with a nil context.Context (use context.Background())")
	}
	if !p.hasDeadline {
		return ctx, noCancel
	}
	return context.WithTimeout(ctx, p.deadline)
}
