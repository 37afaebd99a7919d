package retry

// Hedges reports whether p has a hedge option (HedgeAfter or HedgeAtQuantile): its calls
// go through Hedge or HedgeValue, and Do, DoValue and Wrap panic on it. A wrapper that
// calls p for others (an HTTP transport, a gRPC interceptor) reads it to hedge the calls
// that may run twice at once and send the others through a policy derived with NoHedge.
func (p *Policy) Hedges() bool {
	if p == nil {
		panic("retry: Hedges called on a nil *Policy (build one with retry.New)")
	}
	return p.hedge != nil
}

// NoHedge removes the hedge option given before it: a policy derived with
//
//	once, err := policy.With(retry.NoHedge())
//
// retries as policy does, with its limits, hooks and budget, but never hedges, so that Do
// may call it. It is meant for the calls of a hedging policy that must not run twice at
// once (a request that cannot be replayed, a stream). A hedge option given after it
// applies again.
func NoHedge() Option {
	return func(p *Policy) error {
		p.hedge = nil
		return nil
	}
}
