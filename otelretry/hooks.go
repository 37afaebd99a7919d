package otelretry

import (
	"context"
	"time"

	"github.com/retrykit/retrykit/hooks"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Hooks returns lifecycle hooks that turn every call of the policies they are given to
// into spans and metrics (see the package documentation for what they record). Give
// them to a policy with retry.Hooks:
//
//	p := retry.MustNew(retry.Name("db.fetch"), retry.MaxTries(3), retry.Hooks(otelretry.Hooks()))
//
// The providers are read, and the tracer and the four instruments made, once, when Hooks
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

// telemetry is what one Hooks call set up; it is shared by all the calls it observes and
// changes only through its caches.
type telemetry struct {
	tracer       trace.Tracer
	in           *instruments
	attemptSpans bool
	spanName     func(hooks.Call) string
	errorType    func(error) string
	static       []attribute.KeyValue

	ops   cowMap[string, *operation] // by Call.Name
	names cowMap[string, [2]string]  // span names by the formatter's result
}

// internalSpan is the start option of every span, in a slice made once so that passing
// it allocates nothing.
var internalSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}

// operation returns the precomputed data of the operation name.
func (t *telemetry) operation(name string) *operation {
	if op, ok := t.ops.get(name); ok {
		return op
	}
	return t.ops.getOrAdd(name, maxOperations, func() *operation { return newOperation(name, t.static) })
}

// spanNames returns the call and attempt span names of a call.
func (t *telemetry) spanNames(op *operation, c hooks.Call) (call, attempt string) {
	if t.spanName == nil {
		return op.callName, op.attemptNm
	}
	name := t.spanName(c)
	if n, ok := t.names.get(name); ok {
		return n[0], n[1]
	}
	n := t.names.getOrAdd(name, maxOperations, func() [2]string {
		call, attempt := spanNames(name)
		return [2]string{call, attempt}
	})
	return n[0], n[1]
}

// errorTypeOf returns the error.type of err, from WithErrorType's function or the
// default.
func (t *telemetry) errorTypeOf(err error) string {
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
// telemetry), so the call needs one allocation beyond the tracer's, and one Hooks value
// serves any number of concurrent calls with no shared mutable state.
type callState struct {
	context.Context // the caller's context, carrying the call span

	t           *telemetry
	op          *operation
	span        trace.Span // the call span
	recording   bool       // span.IsRecording(), asked once
	attemptName string

	// The latest attempt, from its OnAttempt and OnAttemptEnd until OnRetry, OnDone or the
	// next OnAttempt finishes it (see finishAttempt).
	aSpan     trace.Span // nil when no attempt span is open
	aRec      bool       // aSpan.IsRecording()
	aEnded    bool       // OnAttemptEnd has filled the fields below
	aCtx      context.Context
	aNumber   int
	aEnd      time.Time // when fn returned: the attempt span's end timestamp
	aDuration time.Duration
	aErr      error
	aTimedOut bool
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
	callName, attemptName := t.spanNames(op, c)
	ctx, span := t.tracer.Start(ctx, callName, internalSpan...)
	s := &callState{Context: ctx, t: t, op: op, span: span, attemptName: attemptName}
	if span.IsRecording() {
		s.recording = true
		if c.MaxTries > 0 {
			span.SetAttributes(op.nameAttr, MaxAttemptsKey.Int(c.MaxTries))
		} else {
			span.SetAttributes(op.nameAttr)
		}
	}
	return s
}

func (t *telemetry) onAttempt(ctx context.Context, a hooks.Attempt) context.Context {
	s := t.state(ctx)
	if s == nil {
		return nil
	}
	// An attempt that no OnRetry finished; retry.Do never leaves one, other drivers might.
	s.finishAttempt(false, 0, false)
	if !s.recording {
		// Under a call span that does not record, an attempt span could not record either
		// with the parent-based samplers, so none is started: unsampled calls pay for one
		// span, not one per attempt.
		return nil
	}
	actx, span := t.tracer.Start(ctx, s.attemptName, internalSpan...)
	s.aSpan, s.aRec = span, span.IsRecording()
	if s.aRec {
		span.SetAttributes(AttemptNumberKey.Int(a.Number))
	}
	return actx
}

// onAttemptEnd only notes how the attempt ended. The attempt span stays open, because
// what the next event says still belongs on it: OnRetry gives retry.delay, and OnDone may
// say that fn panicked (OnAttemptEnd sees a panic as a nil error). The span's end
// timestamp is the end of the attempt all the same (trace.WithTimestamp).
func (t *telemetry) onAttemptEnd(ctx context.Context, a hooks.Attempt) {
	s := t.state(ctx)
	if s == nil {
		return
	}
	s.aEnded = true
	s.aCtx = ctx
	s.aNumber = a.Number
	s.aDuration = a.Duration
	s.aErr = a.Err
	s.aTimedOut = a.TimedOut
	s.aEnd = time.Time{}
	if !a.Start.IsZero() {
		s.aEnd = a.Start.Add(a.Duration)
	}
}

func (t *telemetry) onRetry(ctx context.Context, a hooks.Attempt, delay time.Duration) {
	s := t.state(ctx)
	if s == nil {
		return
	}
	s.finishAttempt(true, delay, false)
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
	s.finishAttempt(false, 0, panicked)

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
			s.span.SetAttributes(AttemptCountKey.Int(r.Attempts), outcomeAttr(r.Outcome), ErrorTypeKey.String(errType))
			s.span.SetStatus(codes.Error, errorDescription(r.Err, panicked))
		} else {
			s.span.SetAttributes(AttemptCountKey.Int(r.Attempts), outcomeAttr(r.Outcome))
		}
	}
	s.span.End()

	if durationOn {
		t.in.callDuration.Record(ctx, r.Duration.Seconds(), s.op.callDurationOptions(t.in, r.Outcome, errType)...)
	}
	if h := t.in.callAttempts; h.Enabled(ctx) {
		h.Record(ctx, int64(r.Attempts), s.op.callAttemptsOptions(r.Outcome)...)
	}
}

// finishAttempt records the latest attempt and ends its span, if there is one. retried
// and delay come from OnRetry; panicked from OnDone.
func (s *callState) finishAttempt(retried bool, delay time.Duration, panicked bool) {
	if !s.aEnded && s.aSpan == nil {
		return
	}
	t := s.t

	outcome, errType := AttemptSuccess, ""
	switch {
	case panicked:
		outcome, errType = AttemptFailure, ErrorTypePanic
	case s.aErr == nil:
	case s.aTimedOut:
		outcome, errType = AttemptTimeout, ErrorTypeTimeout
	default:
		outcome = AttemptFailure
	}
	event := retried && !t.attemptSpans && s.recording

	metricOn := s.aEnded && t.in.attemptDuration.Enabled(s.aCtx)
	if outcome == AttemptFailure && errType == "" && (metricOn || s.aRec || event) {
		errType = t.errorTypeOf(s.aErr)
	}

	if metricOn {
		var opts recordOptions
		switch outcome {
		case AttemptSuccess:
			opts = s.op.attemptSuccess
		case AttemptTimeout:
			opts = s.op.attemptTimeout
		default:
			opts = s.op.attemptFailedOptions(t.in, errType)
		}
		t.in.attemptDuration.Record(s.aCtx, s.aDuration.Seconds(), opts...)
	}

	if span := s.aSpan; span != nil {
		s.aSpan = nil
		if s.aRec {
			if s.aTimedOut || retried || outcome != AttemptSuccess {
				var kv [3]attribute.KeyValue
				n := 0
				if s.aTimedOut {
					kv[n] = AttemptTimedOutKey.Bool(true)
					n++
				}
				if retried {
					kv[n] = DelayKey.Float64(delay.Seconds())
					n++
				}
				if outcome != AttemptSuccess {
					kv[n] = ErrorTypeKey.String(errType)
					n++
				}
				span.SetAttributes(kv[:n]...)
			}
			if outcome != AttemptSuccess {
				span.SetStatus(codes.Error, errorDescription(s.aErr, panicked))
			}
			if s.aEnded && !s.aEnd.IsZero() {
				span.End(trace.WithTimestamp(s.aEnd))
			} else {
				span.End()
			}
		} else {
			span.End()
		}
	}

	if event {
		attrs := []attribute.KeyValue{AttemptNumberKey.Int(s.aNumber), DelayKey.Float64(delay.Seconds())}
		if outcome != AttemptSuccess {
			attrs = append(attrs, ErrorTypeKey.String(errType))
		}
		s.span.AddEvent(BackoffEventName, trace.WithAttributes(attrs...))
	}

	s.aEnded, s.aErr, s.aCtx = false, nil, nil
}

// errorDescription is the status description of a failed span: the error's message, or
// "panic" when fn panicked.
func errorDescription(err error, panicked bool) string {
	if panicked {
		return "panic"
	}
	if err == nil {
		return ""
	}
	return err.Error()
}
