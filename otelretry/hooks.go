package otelretry

import (
	"context"
	"time"

	"github.com/retrykit/retrykit/hooks"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Hooks returns lifecycle hooks that turn every call of the policies they are given to
// into spans and metrics (see the package documentation for what they record). Give
// them to a policy with retry.Hooks:
//
//	p := retry.MustNew(retry.Name("db.fetch"), retry.MaxTries(3), retry.Hooks(otelretry.Hooks()))
//
// The providers are read, and the tracer and the five instruments made, once, when Hooks
// is called; one Hooks value serves any number of policies and concurrent calls, since
// each call keeps its state in its own context.
func Hooks(opts ...Option) hooks.Hooks {
	cfg := newConfig(opts)
	t := &telemetry{
		tracer:       cfg.tracerProvider.Tracer(ScopeName, trace.WithInstrumentationVersion(Version())),
		in:           newInstruments(cfg.meterProvider),
		attemptSpans: cfg.attemptSpans,
		spanName:     cfg.spanName,
		errorType:    cfg.errorType,
		static:       cfg.metricAttrs,
	}
	if _, ok := cfg.tracerProvider.(tracenoop.TracerProvider); ok && t.in.noop() {
		return noopHooks(t.tracer)
	}
	h := hooks.Hooks{
		OnStart:      t.onStart,
		OnAttemptEnd: t.onAttemptEnd,
		OnRetry:      t.onRetry,
		OnDone:       t.onDone,
	}
	if t.attemptSpans {
		h.OnAttempt = t.onAttempt
	}
	return h
}

// noopHooks are the hooks for the OpenTelemetry API's no-op providers (trace/noop and
// metric/noop): nothing can be recorded and a no-op span needs no End, so they keep no
// state and do no work. The call span is still started, so that fn sees in its context
// what it would see under any other tracer.
func noopHooks(tracer trace.Tracer) hooks.Hooks {
	return hooks.Hooks{
		OnStart: func(ctx context.Context, _ hooks.Call) context.Context {
			ctx, _ = tracer.Start(ctx, "retry", internalSpan...)
			return ctx
		},
		// Not nil, for drivers that call every event without checking.
		OnAttemptEnd: func(context.Context, hooks.Attempt) {},
		OnRetry:      func(context.Context, hooks.Attempt, time.Duration) {},
		OnDone:       func(context.Context, hooks.Result) {},
	}
}

// telemetry is what one Hooks call set up; it is shared by all the calls it observes and
// changes only through its caches.
type telemetry struct {
	tracer       trace.Tracer
	in           *instruments
	attemptSpans bool
	spanName     func(hooks.Call) string
	errorType    func(error) string
	static       []attribute.KeyValue

	ops   cowMap[string, *operation]   // by Call.Name
	names cowMap[string, *spanNameSet] // span names by the formatter's result
}

// operation returns the precomputed data of the operation name.
func (t *telemetry) operation(name string) *operation {
	if op, ok := t.ops.get(name); ok {
		return op
	}
	return t.ops.getOrAdd(name, maxOperations, func() *operation { return newOperation(name, t.static) })
}

// spanNames returns the call and attempt span names of a call.
func (t *telemetry) spanNames(op *operation, c hooks.Call) *spanNameSet {
	if t.spanName == nil {
		return &op.names
	}
	name := t.spanName(c)
	if n, ok := t.names.get(name); ok {
		return n
	}
	return t.names.getOrAdd(name, maxOperations, func() *spanNameSet { return newSpanNameSet(name) })
}

// errorTypeOf returns the error.type of err, from WithErrorType's function or the
// default.
//
// A panic in the error's methods (ErrorType, Unwrap, Timeout, Is) or in WithErrorType's
// function is recovered and gives ErrorTypeOther: describing an error must not turn a
// call that returns it into one that panics, nor leave its spans open.
func (t *telemetry) errorTypeOf(err error) (typ string) {
	defer func() {
		if recover() != nil {
			typ = ErrorTypeOther
		}
	}()
	if t.errorType == nil {
		return defaultErrorType(err)
	}
	if s := t.errorType(err); s != "" {
		return s
	}
	return ErrorTypeOther
}

// callState is the state of one observed call. It is itself the context that OnStart
// returns (the caller's context with the call span, plus this state under the key of its
// telemetry), so the call needs one allocation beyond the tracer's (two when a sampled
// call has a failed attempt or fails, or is hedged: see extra), and one Hooks value serves any number of
// concurrent calls with no shared mutable state.
//
// The events of one call come one after the other, so the state needs no lock. Its
// attempt is a field of its own type, so that a driver running attempts side by side
// can keep one per open attempt.
type callState struct {
	context.Context // the caller's context, carrying the call span

	t         *telemetry
	op        *operation
	span      trace.Span // the call span
	recording bool       // span.IsRecording(), asked once
	names     *spanNameSet

	// The latest attempt. It is part of the call's state, not a state of its own, so that
	// an attempt costs no allocation of otelretry's.
	att attemptState

	// What only some calls need, made when first needed, behind one pointer so that the
	// state of a first-try success stays in a 160-byte size class.
	extra *callExtra
}

// callExtra is the part of a call's state that a first-try success never needs.
type callExtra struct {
	// Room for the closing attributes of the call's spans that are not made once (see
	// callEndAttrs): a slice of it passed to SetAttributes allocates nothing, where a
	// variadic list would allocate at each span. The events of a call come one after
	// the other, so its spans can share it.
	kv [3]attribute.KeyValue

	// A hedged call's (hooks.Call.Hedging) attempts; nil for every other call.
	hedge *hedgeState
}

// more returns s.extra, made if needed.
func (s *callState) more() *callExtra {
	if s.extra == nil {
		s.extra = new(callExtra)
	}
	return s.extra
}

// room returns the room for closing attributes, emptied.
func (s *callState) room() []attribute.KeyValue {
	return s.more().kv[:0]
}

// hedged returns the state of a hedged call's attempts, nil for any other call.
func (s *callState) hedged() *hedgeState {
	if s.extra == nil {
		return nil
	}
	return s.extra.hedge
}

// attemptState is what otelretry keeps of an attempt from its OnAttempt and OnAttemptEnd
// until OnRetry, OnDone or the next OnAttempt finishes it (see finishAttempt).
type attemptState struct {
	span       trace.Span // nil when no attempt span is open
	ctx        context.Context
	end        time.Time // when fn returned: the attempt span's end time
	duration   time.Duration
	err        error
	number     int32 // with the flags, in one word of the state
	rec        bool  // span.IsRecording()
	ended      bool  // OnAttemptEnd has filled the fields above
	timedOut   bool
	superseded bool
}

// hedgeState is what a hedged call adds to its state: its attempts overlap, so each has
// its state in atts, by number, until its span is finished.
type hedgeState struct {
	hedges int // attempts with hooks.Attempt.Hedged
	atts   []attemptState
}

// current returns the state that the events of attempt number n fill: the call's only
// one, or that attempt's own in a hedged call.
func (s *callState) current(n int) *attemptState {
	if s.extra != nil && s.extra.hedge != nil && n > 0 {
		return s.extra.hedge.attempt(n)
	}
	return &s.att
}

// attempt returns the state of attempt n.
func (h *hedgeState) attempt(n int) *attemptState {
	for len(h.atts) < n {
		h.atts = append(h.atts, attemptState{})
	}
	return &h.atts[n-1]
}

// Value answers the state's own key and passes every other to the call's context.
func (s *callState) Value(key any) any {
	if key == any(s.t) {
		return s
	}
	return s.Context.Value(key)
}

// state returns the state of the call that ctx belongs to, nil if t did not start one.
func (t *telemetry) state(ctx context.Context) *callState {
	s, _ := ctx.Value(t).(*callState)
	return s
}

func (t *telemetry) onStart(ctx context.Context, c hooks.Call) context.Context {
	op := t.operation(c.Name)
	names := t.spanNames(op, c)
	ctx, span := t.tracer.Start(ctx, names.call, internalSpan...)
	var s *callState
	if !span.IsRecording() {
		s = &callState{Context: ctx, t: t, op: op, span: span, names: names}
	} else {
		span.SetAttributes(op.callStartAttrs(c.MaxTries)...)
		s = &callState{Context: ctx, t: t, op: op, span: span, recording: true, names: names}
	}
	if c.Hedging {
		s.extra = &callExtra{hedge: &hedgeState{atts: make([]attemptState, 0, c.MaxTries)}}
	}
	return s
}

func (t *telemetry) onAttempt(ctx context.Context, a hooks.Attempt) context.Context {
	s := t.state(ctx)
	if s == nil {
		return nil
	}
	if s.hedged() == nil {
		// An attempt that no OnRetry finished; retry.Do never leaves one, other drivers
		// might. A hedged call's attempts overlap: each is finished by its own events.
		s.finishAttempt(&s.att, false, 0, false)
	}
	if !s.recording {
		// Under a call span that does not record, an attempt span could not record either
		// with the parent-based samplers, so none is started: unsampled calls pay for one
		// span, not one per attempt.
		return nil
	}
	actx, span := t.tracer.Start(ctx, s.names.attempt, internalSpan...)
	at := s.current(a.Number)
	at.span, at.rec = span, span.IsRecording()
	if at.rec {
		span.SetAttributes(attemptStartAttrs(a.Number)...)
		if a.Hedged {
			span.SetAttributes(AttemptHedgedKey.Bool(true))
		}
	}
	return actx
}

// onAttemptEnd only notes how the attempt ended. The attempt span stays open, because
// what the next event says still belongs on it: OnRetry gives retry.delay, and OnDone may
// say that fn panicked (OnAttemptEnd sees a panic as a nil error). The span's end
// timestamp is the end of the attempt all the same (see endAttemptSpan).
func (t *telemetry) onAttemptEnd(ctx context.Context, a hooks.Attempt) {
	s := t.state(ctx)
	if s == nil {
		return
	}
	at := s.current(a.Number)
	at.ended = true
	at.ctx = ctx
	at.number = int32(a.Number)
	at.duration = a.Duration
	at.err = a.Err
	at.timedOut = a.TimedOut
	at.superseded = a.Superseded
	at.end = time.Time{}
	if !a.Start.IsZero() {
		at.end = a.Start.Add(a.Duration)
	}
	if h := s.hedged(); a.Hedged && h != nil {
		h.hedges++
	}
	if a.Superseded {
		// Nothing can follow a superseded attempt: no retry, and a panic of its own is
		// told by OnDone of the call only.
		s.finishAttempt(at, false, 0, false)
	}
}

func (t *telemetry) onRetry(ctx context.Context, a hooks.Attempt, delay time.Duration) {
	s := t.state(ctx)
	if s == nil {
		return
	}
	s.finishAttempt(s.current(a.Number), true, delay, false)
	if h := t.in.backoffDuration; h.Enabled(ctx) {
		h.Record(ctx, delay.Seconds(), s.op.backoff...)
	}
}

func (t *telemetry) onDone(ctx context.Context, r hooks.Result) {
	s := t.state(ctx)
	if s == nil {
		return
	}
	panicked := r.Outcome == hooks.Panicked
	if h := s.hedged(); h != nil {
		// Every attempt not finished yet ended before the call: the one that succeeded,
		// those that failed with no retry after them, and the one that panicked (its
		// OnAttemptEnd saw no error).
		for i := range h.atts {
			at := &h.atts[i]
			s.finishAttempt(at, false, 0, panicked && at.err == nil)
		}
	} else {
		s.finishAttempt(&s.att, false, 0, panicked)
	}

	fail := failed(r.Outcome)
	durationOn := t.in.callDuration.Enabled(ctx)
	var errType string
	if fail && (s.recording || durationOn) {
		if panicked {
			errType = ErrorTypePanic
		} else {
			errType = t.errorTypeOf(r.Err)
		}
	}
	if s.recording {
		if fail {
			s.span.SetAttributes(append(s.room(), AttemptCountKey.Int(r.Attempts), outcomeAttr(r.Outcome), ErrorTypeKey.String(errType))...)
			s.span.SetStatus(codes.Error, errorDescription(r.Err, panicked))
		} else {
			s.span.SetAttributes(callEndAttrs(r.Attempts, r.Outcome)...)
		}
	}
	s.span.End()

	if durationOn {
		t.in.callDuration.Record(ctx, r.Duration.Seconds(), s.op.callDurationOptions(t.in, r.Outcome, errType)...)
	}
	if h := t.in.callAttempts; h.Enabled(ctx) {
		h.Record(ctx, int64(r.Attempts), s.op.callAttemptsOptions(r.Outcome)...)
	}
	if h, hs := t.in.callHedges, s.hedged(); hs != nil && h.Enabled(ctx) {
		h.Record(ctx, int64(hs.hedges), s.op.callAttemptsOptions(r.Outcome)...)
	}
}

// finishAttempt records attempt at and ends its span, if there is one. retried and delay
// come from OnRetry; panicked from OnDone.
func (s *callState) finishAttempt(at *attemptState, retried bool, delay time.Duration, panicked bool) {
	if !at.ended && at.span == nil {
		return
	}
	t := s.t

	kind, errType := attemptSucceeded, ""
	switch {
	case at.superseded:
		// Canceled by the engine, not failed: no error.type, status Unset.
		kind = attemptSuperseded
	case panicked:
		kind, errType = attemptFailed, ErrorTypePanic
	case at.err == nil:
	case at.timedOut:
		kind, errType = attemptTimedOut, ErrorTypeTimeout
	default:
		kind = attemptFailed
	}
	event := retried && !t.attemptSpans && s.recording

	metricOn := at.ended && t.in.attemptDuration.Enabled(at.ctx)
	if kind == attemptFailed && errType == "" && (metricOn || at.rec || event) {
		errType = t.errorTypeOf(at.err)
	}

	if metricOn {
		var opts recordOptions
		switch kind {
		case attemptSucceeded:
			opts = s.op.attemptSuccess
		case attemptTimedOut:
			opts = s.op.attemptTimeout
		case attemptSuperseded:
			opts = s.op.attemptSuperseded
		default:
			opts = s.op.attemptFailedOptions(t.in, errType)
		}
		t.in.attemptDuration.Record(at.ctx, at.duration.Seconds(), opts...)
	}

	if span := at.span; span != nil {
		at.span = nil
		switch {
		case !at.rec:
			span.End()
		case kind == attemptSucceeded && !retried && !at.timedOut:
			// A first-try success gets no closing attribute and needs no room.
			endAttemptSpan(span, at)
		default:
			s.closeAttemptSpan(span, at, kind, errType, retried, delay, panicked)
		}
	}

	if event {
		kv := append(s.room(), AttemptNumberKey.Int(int(at.number)), DelayKey.Float64(delay.Seconds()))
		if kind == attemptFailed || kind == attemptTimedOut {
			kv = append(kv, ErrorTypeKey.String(errType))
		}
		s.span.AddEvent(BackoffEventName, trace.WithAttributes(kv...))
	}

	at.ended, at.err, at.ctx, at.superseded = false, nil, nil, false
}

// The kinds of attempt ends that finishAttempt tells apart.
const (
	attemptSucceeded = iota
	attemptFailed
	attemptTimedOut
	attemptSuperseded
)

// closeAttemptSpan sets the closing attributes and status of a recording attempt span
// that did not simply succeed, and ends it.
func (s *callState) closeAttemptSpan(span trace.Span, at *attemptState, kind int, errType string, retried bool, delay time.Duration, panicked bool) {
	failed := kind == attemptFailed || kind == attemptTimedOut
	kv := s.room()
	if at.timedOut {
		kv = append(kv, AttemptTimedOutKey.Bool(true))
	}
	if retried {
		kv = append(kv, DelayKey.Float64(delay.Seconds()))
	}
	if failed {
		kv = append(kv, ErrorTypeKey.String(errType))
	}
	if at.superseded {
		kv = append(kv, AttemptSupersededKey.Bool(true))
	}
	if len(kv) > 0 {
		span.SetAttributes(kv...)
	}
	if failed {
		span.SetStatus(codes.Error, errorDescription(at.err, panicked))
	}
	endAttemptSpan(span, at)
}

// endSlack is how late an attempt span may be ended with the tracer's own clock rather
// than an explicit end time.
const endSlack = time.Microsecond

// endAttemptSpan ends the recording span of attempt at at the attempt's end. When that
// end is now, to within endSlack (the usual case: nothing slow ran since fn returned),
// the tracer reads the clock itself, as it does for hand-written spans ended right after
// the work; otherwise the end time is given explicitly, which costs two allocations (the
// option and the list that holds it).
func endAttemptSpan(span trace.Span, at *attemptState) {
	if at.ended && !at.end.IsZero() {
		if late := time.Since(at.end); late < 0 || late > endSlack {
			span.End(trace.WithTimestamp(at.end))
			return
		}
	}
	span.End()
}

// errorDescription is the status description of a failed span: the error's message, or
// "panic" when fn panicked.
func errorDescription(err error, panicked bool) (desc string) {
	if panicked {
		return "panic"
	}
	if err == nil {
		return ""
	}
	defer func() {
		if recover() != nil {
			desc = errorMethodPanicked
		}
	}()
	return err.Error()
}

// errorMethodPanicked is the status description of a span whose error panicked when
// asked for its message.
const errorMethodPanicked = "(error message unavailable: its Error method panicked)"
