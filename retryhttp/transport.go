package retryhttp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/retrykit/retrykit/retry"
)

// Transport is an http.RoundTripper that sends each request through a retry policy:
// every attempt is one RoundTrip of next, and the policy's rules, limits, hooks and
// budget decide whether another one follows. See NewTransport.
type Transport struct {
	next   http.RoundTripper
	policy *retry.Policy // the caller's, with the Retry-After limit as a GiveUp rule
	once   *retry.Policy // when policy hedges: policy without its hedge option, else nil
	cfg    config

	// The policies of one RoundTrip, derived once per name: fixed when every call bears
	// the policy's own Name, else one per standard method and the rest in names.
	fixed        *policies
	methods      [len(standardMethods)]*policies
	names        sync.Map // operation name -> *policies
	otherMethods sync.Map // non-standard method -> *policies
	nNames       atomic.Int64
}

// policies are the policies of the calls of one name: p, and when p hedges, once, the
// same without the hedge option, for the requests that may be sent only once.
type policies struct {
	p    *retry.Policy
	once *retry.Policy
}

// standardMethods are the methods of RFC 9110 and PATCH, whose call names are derived
// when the Transport is built.
var standardMethods = [...]string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace,
}

// maxNames bounds the derived policies a Transport keeps for other names (an
// OperationName, a non-standard method): past it, a call derives its policy afresh.
const maxNames = 1024

// drainLimit is the most of a retried response's body that is read so that its
// connection can be reused; a longer body costs the connection instead.
const drainLimit = 64 << 10

// NewTransport returns a Transport that sends requests to next (http.DefaultTransport if
// nil) under policy p. It panics if p is nil or an option is invalid.
//
// What is retried: a transport error, or a response whose status is in the retry set
// (408, 429, 500, 502, 503, 504 by default, see RetryStatus). Any other response is
// returned at once. A certificate that does not verify, and a request net/http would not
// send (bad scheme, method or header), end the call at once with outcome Permanent.
//
// Only idempotent requests are sent more than once: methods GET, HEAD, OPTIONS, TRACE,
// PUT and DELETE, or a request with an Idempotency-Key or X-Idempotency-Key header,
// unless RetryAnyMethod; and only requests whose body can be replayed (none, or GetBody,
// which http.NewRequest sets for a *bytes.Buffer, *bytes.Reader or *strings.Reader body).
// Another request has one attempt, still under the policy; a body is never buffered.
//
// A retried response is drained (up to 64 KiB) and closed before the next attempt, so
// that its connection goes back to the pool; the Transport never closes idle
// connections itself. When the call ends on a response (attempts exhausted, deadline,
// GaveUp, Throttled, a Retry-After over RetryAfterLimit), RoundTrip returns that response
// with its body whole and a nil error; when it ends on a transport error, a nil response
// and the policy's *retry.Error, which matches the transport error with errors.Is and
// errors.As. A request whose context is done ends at once with a nil response and an
// error that matches the context's.
//
// The Retry-After of a retried response is the attempt's delay hint: the pause is the
// longer of it and the backoff, and a pause that would end past the call's deadline is
// not taken. AttemptTimeout bounds an attempt up to its response headers (and the
// draining of a retried response); the body of the response returned stays readable
// until the caller's context is done or the policy's Deadline passes, and closing it
// releases everything the call holds.
//
// When p hedges (retry.HedgeAfter, retry.HedgeAtQuantile), the requests that may be sent
// more than once are hedged: a slow attempt gets company, the first success is returned,
// and the responses of the other attempts are drained and closed before RoundTrip
// returns, even one that arrived after the winner's. The others have their one attempt
// under p without its hedge option.
//
// Hooks and telemetry name each call OperationName(req), else p's Name, else
// "HTTP <method>".
func NewTransport(next http.RoundTripper, p *retry.Policy, opts ...Option) *Transport {
	if p == nil {
		panic("retryhttp: NewTransport called with a nil *retry.Policy (build one with retry.New)")
	}
	cfg := newConfig(opts)
	if cfg.err != nil {
		panic(cfg.err)
	}
	if next == nil {
		next = http.DefaultTransport
	}
	base, err := p.With(retry.GiveUp(waitsTooLong))
	if err != nil {
		panic("retryhttp: " + err.Error()) // GiveUp with a function never fails
	}
	t := &Transport{next: next, policy: base, cfg: cfg}
	if base.Hedges() {
		// Hedged attempts run at once: each learns its number from the engine (the
		// number its hooks see), not from a count of its own.
		if t.policy, err = base.With(retry.Hooks(numberAttempts)); err == nil {
			t.once, err = base.With(retry.NoHedge())
		}
		if err != nil {
			panic("retryhttp: " + err.Error()) // Hooks and NoHedge never fail
		}
	}
	if base.Name() != "" {
		t.fixed = &policies{p: t.policy, once: t.once}
	} else {
		for i, m := range standardMethods {
			t.methods[i] = t.derive("HTTP " + m)
		}
	}
	return t
}

// NewClient returns an http.Client whose Transport is NewTransport(nil, p, opts...).
func NewClient(p *retry.Policy, opts ...Option) *http.Client {
	return &http.Client{Transport: NewTransport(nil, p, opts...)}
}

// CloseIdleConnections closes the idle connections of next, if it has such a method.
// http.Client.CloseIdleConnections calls it; the Transport itself never does.
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// waitsTooLong is the GiveUp rule of RetryAfterLimit.
func waitsTooLong(err error) bool {
	se, ok := errors.AsType[*StatusError](err)
	return ok && se.tooLong
}

func (t *Transport) derive(name string) *policies {
	p, err := t.policy.With(retry.Name(name))
	if err != nil {
		panic("retryhttp: " + err.Error()) // Name never fails
	}
	ps := &policies{p: p}
	if t.once != nil {
		if ps.once, err = t.once.With(retry.Name(name)); err != nil {
			panic("retryhttp: " + err.Error())
		}
	}
	return ps
}

// policyFor returns the policies that name req's call.
func (t *Transport) policyFor(req *http.Request) *policies {
	if t.cfg.opName != nil {
		if name := t.cfg.opName(req); name != "" {
			return t.named(name)
		}
	}
	if t.fixed != nil {
		return t.fixed
	}
	m := req.Method
	if m == "" {
		m = http.MethodGet
	}
	for i, s := range standardMethods {
		if s == m {
			return t.methods[i]
		}
	}
	return t.cached(&t.otherMethods, m, "HTTP ")
}

// named returns the policies for an operation name, derived once per name.
func (t *Transport) named(name string) *policies { return t.cached(&t.names, name, "") }

// cached returns the policies named prefix+key from cache, derived once per key.
func (t *Transport) cached(cache *sync.Map, key, prefix string) *policies {
	if p, ok := cache.Load(key); ok {
		return p.(*policies)
	}
	p := t.derive(prefix + key)
	if t.nNames.Add(1) > maxNames {
		return p // unbounded names (a URL?) must not grow the cache
	}
	q, _ := cache.LoadOrStore(key, p)
	return q.(*policies)
}

// RoundTrip sends req under the policy, as NewTransport describes. It is safe for
// concurrent use.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req == nil {
		return nil, errors.New("retryhttp: nil *http.Request")
	}
	if req.URL == nil {
		if req.Body != nil {
			_ = req.Body.Close() // RoundTrip closes the body, even on errors
		}
		return nil, errors.New("retryhttp: nil Request.URL")
	}
	ps := t.policyFor(req)
	once := !rewindable(req) || !t.cfg.anyMethod && !idempotent(req)
	p := ps.p
	if ps.once != nil {
		if !once {
			return t.hedge(p, req)
		}
		p = ps.once // what may be sent only once is never hedged
	}
	ctx := req.Context()
	callCtx, release := p.CallContext(ctx)
	rt := roundTrip{t: t, req: req, callCtx: callCtx, once: once}
	returned := false
	defer func() {
		if !returned { // next or a hook panicked: the panic goes on, the response kept does not leak
			rt.discard()
			release()
		}
	}()
	err := p.Do(callCtx, rt.attempt)
	returned = true
	if rt.n == 0 && req.Body != nil {
		_ = req.Body.Close() // no attempt sent it (the context was done), and RoundTrip closes it
	}
	if err != nil && (rt.resp == nil || ctx.Err() != nil) {
		rt.discard()
		release()
		return nil, err
	}
	return rt.finish(ctx, release), nil
}

// roundTrip is the state of one RoundTrip; it lives on the caller's stack.
type roundTrip struct {
	t       *Transport
	req     *http.Request
	callCtx context.Context // the caller's, bounded by the policy's Deadline
	once    bool            // the request can be sent only once
	hedged  bool            // an attempt of a hedged call: others may run at the same time
	n       int             // attempts so far

	// The last attempt's response, kept for the caller: a success, or a retried
	// response in case the call ends on it.
	resp *http.Response
	live bool                    // resp's body still reads from the connection
	hold context.CancelCauseFunc // ends the context resp's body reads under, if it is not callCtx's
}

// attempt is one attempt: one RoundTrip of next.
func (rt *roundTrip) attempt(actx context.Context) error {
	rt.n++
	rt.discard()
	return rt.send(actx)
}

// send sends attempt rt.n and keeps its response in rt, if there is one to keep.
func (rt *roundTrip) send(actx context.Context) error {
	req := rt.req

	body := req.Body
	if rt.n > 1 && body != nil && body != http.NoBody {
		b, err := req.GetBody()
		if err != nil {
			return retry.Permanent(redactError(err))
		}
		body = b
	}

	// The engine cancels an attempt context of its own (attempt timeout, deadline) when
	// this function returns, but the body of a response may have to outlive it. Such a
	// request is sent under a context that only the attempt's end cancels, until the
	// response is kept: then it is handed over to the call's context.
	sendCtx := actx
	var cancel context.CancelCauseFunc
	var stop func() bool
	if actx.Done() != rt.callCtx.Done() {
		sendCtx, cancel = context.WithCancelCause(context.WithoutCancel(actx))
		stop = context.AfterFunc(actx, func() { cancel(actx.Err()) })
	}
	var r *http.Request
	switch {
	case !rt.hedged:
		r = req.WithContext(context.WithValue(sendCtx, attemptKey{}, rt.n))
	case rt.n == 1:
		r = req.WithContext(sendCtx) // actx carries the number already
	default:
		// Attempts in flight together share nothing a RoundTripper might touch.
		r = req.Clone(sendCtx)
	}
	r.Body = body
	if rt.n > 1 && rt.t.cfg.attemptHeader != "" {
		if !rt.hedged {
			r.Header = req.Header.Clone()
		}
		if r.Header == nil {
			r.Header = http.Header{}
		}
		r.Header.Set(rt.t.cfg.attemptHeader, strconv.Itoa(rt.n-1))
	}

	resp, err := rt.t.next.RoundTrip(r)
	if err != nil {
		if cancel != nil {
			stop()
			cancel(nil)
			err = withCause(err, sendCtx)
		}
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close() // a RoundTripper breaking its contract
		}
		err = redactError(err)
		if rt.once || permanentError(req, err) {
			return retry.Permanent(err)
		}
		return err
	}
	if resp == nil {
		if cancel != nil {
			stop()
			cancel(nil)
		}
		return retry.Permanent(errors.New("retryhttp: the RoundTripper returned neither a response nor an error"))
	}
	if resp.Body == nil {
		resp.Body = http.NoBody
	}

	if !rt.t.cfg.statuses.has(resp.StatusCode) {
		return rt.keep(actx, resp, cancel, stop)
	}
	wait, tooLong := retryAfter(resp, rt.t.cfg.retryAfterMax)
	serr := newStatusError(req, resp, wait)
	serr.tooLong = tooLong
	if rt.once {
		if err := rt.keep(actx, resp, cancel, stop); err != nil {
			return err
		}
		return retry.Permanent(serr)
	}
	if err := rt.drain(actx, resp, cancel, stop); err != nil {
		return err
	}
	return serr
}

// keep keeps resp, whose body is still unread, as the call's response so far.
func (rt *roundTrip) keep(actx context.Context, resp *http.Response, cancel context.CancelCauseFunc, stop func() bool) error {
	if cancel != nil && !stop() {
		// The attempt ended as its headers arrived: its body is gone with it.
		_ = resp.Body.Close()
		cancel(nil)
		return actx.Err()
	}
	rt.resp, rt.live, rt.hold = resp, true, cancel
	return nil
}

// drainBufs are the buffers retried bodies are read into.
var drainBufs = sync.Pool{New: func() any { b := make([]byte, drainLimit+1); return &b }}

// drain reads the body of a retried response, up to drainLimit, and closes it, so that
// its connection can serve the next attempt. The response is kept, with the bytes read
// as its body, for the case that the call ends on it. A longer body is kept unread
// beyond what was read, and closed when the next attempt starts.
func (rt *roundTrip) drain(actx context.Context, resp *http.Response, cancel context.CancelCauseFunc, stop func() bool) error {
	bp := drainBufs.Get().(*[]byte)
	buf := *bp
	n, err := readFull(resp.Body, buf)
	switch err {
	case nil: // longer than drainLimit: keep the connection's body behind what was read
		head := append([]byte(nil), buf[:n]...)
		drainBufs.Put(bp)
		if err := rt.keep(actx, resp, cancel, stop); err != nil {
			return err
		}
		resp.Body = &prefixed{head: head, ReadCloser: resp.Body}
		return nil
	case io.EOF:
		data := append([]byte(nil), buf[:n]...)
		drainBufs.Put(bp)
		_ = resp.Body.Close()
		if cancel != nil {
			stop()
			cancel(nil)
		}
		resp.Body = &buffered{data: data}
		rt.resp, rt.live, rt.hold = resp, false, nil
		return nil
	default:
		drainBufs.Put(bp)
		_ = resp.Body.Close()
		if cancel != nil {
			stop()
			cancel(nil)
			err = withCause(err, actx)
		}
		return &bodyError{status: resp.StatusCode, err: redactError(err)}
	}
}

// discard drops the response kept from the previous attempt.
func (rt *roundTrip) discard() {
	if rt.resp == nil {
		return
	}
	_ = rt.resp.Body.Close()
	if rt.hold != nil {
		rt.hold(nil)
	}
	rt.resp, rt.live, rt.hold = nil, false, nil
}

// finish hands the kept response to the caller: its body stays readable under the
// call's context until the caller closes it, which releases the call's resources.
func (rt *roundTrip) finish(ctx context.Context, release context.CancelFunc) *http.Response {
	resp := rt.resp
	if !rt.live {
		release()
		return resp
	}
	if rt.hold == nil && rt.callCtx == ctx {
		return resp // nothing to release: the body lives under the caller's own context
	}
	b := tracked{rc: resp.Body, cancel: rt.hold, release: release, ctx: rt.callCtx}
	if hold, callCtx := rt.hold, rt.callCtx; hold != nil && callCtx.Done() != nil {
		b.stop = context.AfterFunc(callCtx, func() { hold(callCtx.Err()) })
	}
	if w, ok := resp.Body.(io.Writer); ok {
		resp.Body = &trackedRW{tracked: b, w: w}
	} else {
		resp.Body = &b
	}
	return resp
}

// retryAfter reads the Retry-After of a retried response: the wait it asks for, and
// whether that is longer than limit. A malformed or negative value asks for nothing.
func retryAfter(resp *http.Response, limit time.Duration) (time.Duration, bool) {
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	d, ok := RetryAfter(resp)
	if !ok {
		// Out of range means negative or more than MaxRetryAfter: longer than any limit
		// unless it is negative.
		_, err := ParseRetryAfter(v, time.Now())
		return 0, errors.Is(err, ErrRange) && !negative(v)
	}
	return d, d > limit
}

func negative(v string) bool {
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case ' ', '\t':
		case '-':
			return true
		default:
			return false
		}
	}
	return false
}

// bodyError is the error of an attempt whose retried response's body could not be read.
type bodyError struct {
	status int
	err    error
}

func (e *bodyError) Error() string {
	return "retryhttp: reading the body of a " + strconv.Itoa(e.status) + " response: " + e.err.Error()
}

func (e *bodyError) Unwrap() error { return e.err }

// ErrorType is that of the error that cut the body short.
func (e *bodyError) ErrorType() string { return errorType(e.err) }

// readFull reads into buf until it is full (err nil) or the body ends (io.EOF) or fails.
// Unlike io.ReadFull it tells a body that ended from one cut short (net/http's
// io.ErrUnexpectedEOF when the connection closes before Content-Length).
func readFull(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// withCause replaces the context.Canceled that net/http reports for a request whose
// context the Transport canceled with the reason it did: the attempt's or the call's
// end (context.DeadlineExceeded for a timeout).
func withCause(err error, ctx context.Context) error {
	if cause := context.Cause(ctx); cause != nil && cause != context.Canceled && errors.Is(err, context.Canceled) {
		return cause
	}
	return err
}
