package retryhttp

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/retry"
)

// numberAttempts is the hook of a hedging policy that hands every attempt its number:
// the attempts of a hedged call run at the same time, so each reads its number from its
// context, where the engine's count put it, the one the other hooks see.
var numberAttempts = hooks.Hooks{
	OnAttempt: func(ctx context.Context, a hooks.Attempt) context.Context {
		return context.WithValue(ctx, attemptKey{}, a.Number)
	},
}

// hedgedTrip is the state of a hedged RoundTrip: every attempt has a roundTrip of its
// own, and the call keeps each that holds a response, since the engine drops the result
// of an attempt that succeeds after another, and that response must not leak.
type hedgedTrip struct {
	t       *Transport
	req     *http.Request
	callCtx context.Context
	sent    atomic.Bool // the first attempt took req.Body

	mu   sync.Mutex
	kept []*roundTrip // the attempts that hold a response

	first   roundTrip     // attempt 1's state: the call of a first-try success allocates none
	keptBuf [2]*roundTrip // kept's first backing array
}

// hedge sends req, which may be sent more than once, under p, a hedging policy: when an
// attempt is slow, another starts while it runs, and the first success is the call's.
// The response RoundTrip returns is chosen as without hedging (the success, or the
// response of the attempt that failed last); every other response an attempt produced
// is drained and closed before hedge returns.
func (t *Transport) hedge(p *retry.Policy, req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	callCtx, release := p.CallContext(ctx)
	h := &hedgedTrip{t: t, req: req, callCtx: callCtx}
	h.kept = h.keptBuf[:0]
	returned := false
	defer func() {
		if !returned { // next or a hook panicked: the panic goes on, no response leaks
			h.close(nil, false)
			release()
		}
	}()
	win, err := retry.HedgeValue(callCtx, p, h.attempt)
	returned = true
	if !h.sent.Load() && req.Body != nil {
		_ = req.Body.Close() // no attempt sent it (the context was done), and RoundTrip closes it
	}
	switch {
	case err == nil:
	case ctx.Err() != nil:
		win = nil
	default:
		win = h.failed(err)
	}
	h.close(win, true)
	if win == nil {
		release()
		return nil, err
	}
	return win.finish(ctx, release), nil
}

// attempt is one attempt of a hedged call, perhaps at the same time as others. It
// returns its own state when it succeeds.
func (h *hedgedTrip) attempt(actx context.Context) (*roundTrip, error) {
	n := Attempt(actx)
	var rt *roundTrip
	if n == 1 {
		h.sent.Store(true)
		rt = &h.first
	} else {
		rt = new(roundTrip)
	}
	*rt = roundTrip{t: h.t, req: h.req, callCtx: h.callCtx, hedged: true, n: n}
	err := rt.send(actx)
	if rt.resp != nil {
		h.mu.Lock()
		h.kept = append(h.kept, rt)
		h.mu.Unlock()
	}
	if err != nil {
		return nil, err
	}
	return rt, nil
}

// failed returns the attempt whose response the failed call ends on: the one whose
// retryable status is the call's last error, if it is kept.
func (h *hedgedTrip) failed(err error) *roundTrip {
	re, ok := errors.AsType[*retry.Error](err)
	if !ok {
		return nil
	}
	se, ok := errors.AsType[*StatusError](re.Last)
	if !ok || se.Response == nil {
		return nil
	}
	for _, rt := range h.kept {
		if rt.resp == se.Response {
			return rt
		}
	}
	return nil
}

// close closes the response of every attempt but keep's, draining it first if drain
// is set so that its connection goes back to the pool. A body still on the connection
// is read at most drainLimit bytes and not past the end of the caller's context or the
// policy's Deadline.
func (h *hedgedTrip) close(keep *roundTrip, drain bool) {
	for _, rt := range h.kept {
		if rt == keep {
			continue
		}
		if drain && rt.live {
			rt.drainLoser(h.callCtx)
		}
		rt.discard()
	}
	h.kept = nil
}

// drainLoser reads what an attempt that lost kept of its response body, within the
// limits of a retried response's drain, so that its connection can be reused.
func (rt *roundTrip) drainLoser(callCtx context.Context) {
	if hold := rt.hold; hold != nil && callCtx.Done() != nil {
		stop := context.AfterFunc(callCtx, func() { hold(callCtx.Err()) })
		defer stop()
	}
	bp := drainBufs.Get().(*[]byte)
	_, _ = readFull(rt.resp.Body, *bp)
	drainBufs.Put(bp)
}
