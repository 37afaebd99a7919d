package grpcretry

import (
	"sync"
	"sync/atomic"

	"github.com/retrykit/retrykit/retry"
)

// maxNames bounds the cache of per-method policies: a client calls a fixed set of
// methods, but a generic proxy may forward any name it is given.
const maxNames = 1024

// policies gives each method its policy: the base policy itself when it has a Name,
// else one derived with the method as its Name, built once per method.
type policies struct {
	base  *retry.Policy
	named bool
	m     sync.Map // method -> *retry.Policy
	n     atomic.Int32
}

func newPolicies(p *retry.Policy) *policies {
	return &policies{base: p, named: p.Name() != ""}
}

func (ps *policies) get(method string) *retry.Policy {
	if ps.named {
		return ps.base
	}
	if q, ok := ps.m.Load(method); ok {
		return q.(*retry.Policy)
	}
	q, err := ps.base.With(retry.Name(method))
	if err != nil {
		// Name accepts every string; should that change, an unnamed call beats no call.
		return ps.base
	}
	if ps.n.Load() >= maxNames {
		return q
	}
	if v, loaded := ps.m.LoadOrStore(method, q); loaded {
		return v.(*retry.Policy)
	}
	ps.n.Add(1)
	return q
}
