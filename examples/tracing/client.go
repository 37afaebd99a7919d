package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/otelretry"
	"github.com/retrykit/retrykit/retry"
	"github.com/retrykit/retrykit/retryhttp"
)

// operationName is the retry policy's Name: the retry.operation.name of every span and
// data point, and the value of the dashboard's retry_operation_name variable.
const operationName = "inventory.get"

// attrRetryAfter is the semantic-convention attribute for a response header, set on the
// attempt span when the service asked for a pause, so that the trees can say why a
// pause was long.
const attrRetryAfter = attribute.Key("http.response.header.retry-after")

// client calls the flaky service through a retryhttp.Transport over otelhttp: the
// policy's otelretry hooks make a span per call and per attempt, and each attempt's HTTP
// span nests under its attempt span.
type client struct {
	url       string
	http      *http.Client
	transport *http.Transport

	// The hedged calls: a second retrying Transport, over the same otelhttp transport,
	// under the hedging policy. It hedges what it may retry: the GETs.
	hedging *http.Client
}

// hedgeDelay is the hedging policy's HedgeAfter: the service answers within -latency
// (20ms by default), so an attempt still running after 50ms is a slow one.
const hedgeDelay = 50 * time.Millisecond

// reservation is the body of the POST calls.
const reservation = `{"item":42,"quantity":1}`

func newClient(cfg *config, url string, tel *telemetry) (*client, error) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	// One set of otelretry hooks serves both policies.
	telemetryHooks := otelretry.Hooks(
		otelretry.WithTracerProvider(tel.tp),
		otelretry.WithMeterProvider(tel.mp),
	)
	// No jitter, so that the trees of two runs compare line by line; a fleet of clients
	// wants retry.EqualJitter around it.
	pause := retry.Exponential(50*time.Millisecond, 2, 400*time.Millisecond)
	policy, err := retry.New(
		retry.Name(operationName),
		retry.MaxTries(cfg.maxTries),
		retry.AttemptTimeout(cfg.attemptTimeout),
		retry.Deadline(cfg.deadline),
		retry.PauseWith(pause),
		retry.Hooks(telemetryHooks, workloadHooks),
	)
	if err != nil {
		return nil, err
	}
	// The hedging policy: the same name (the dashboard shows one operation), hooks,
	// limits and pauses, and a hedge for an attempt still running after hedgeDelay
	// instead of an attempt timeout: a hedge does not give up on the slow attempt, whose
	// answer may still come first. MaxTries bounds hedges and retries together.
	hedging, err := retry.New(
		retry.Name(operationName),
		retry.MaxTries(cfg.maxTries),
		retry.HedgeAfter(hedgeDelay),
		retry.Deadline(cfg.deadline),
		retry.PauseWith(pause),
		retry.Hooks(telemetryHooks, workloadHooks),
	)
	if err != nil {
		return nil, err
	}
	traced := otelhttp.NewTransport(otelretry.ResendCount(transport),
		otelhttp.WithTracerProvider(tel.tp),
		otelhttp.WithMeterProvider(tel.mp),
		// W3C trace context on every request: an instrumented service would continue
		// the attempt's trace.
		otelhttp.WithPropagators(propagation.TraceContext{}),
	)
	return &client{
		url:       url + "/item/42",
		transport: transport,
		hedging: &http.Client{Transport: retryhttp.NewTransport(inventoryRules{traced}, hedging,
			retryhttp.AttemptHeader(headerResend))},
		http: &http.Client{Transport: retryhttp.NewTransport(inventoryRules{traced}, policy,
			// The service reads the resend count to know which attempt it answers.
			// Every call bears the policy's Name, the POSTs too, so that the dashboard
			// shows one operation; retryhttp.OperationName would name them apart.
			retryhttp.AttemptHeader(headerResend),
		)},
	}, nil
}

// close drops the kept-alive connections, and with them their goroutines.
func (c *client) close() { c.transport.CloseIdleConnections() }

// inventoryRules sits between the retrying Transport (or a hedged call's attempt) and
// otelhttp, and sees every attempt with its attempt span in the request's context. It
// notes a Retry-After on the attempt span (the trees tell why a pause was long), and
// adds the service's one rule the Transport cannot know: 404 means the item does not
// exist, a failure that no retry can fix.
type inventoryRules struct{ next http.RoundTripper }

func (r inventoryRules) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if v := resp.Header.Get("Retry-After"); v != "" {
		trace.SpanFromContext(ctx).SetAttributes(attrRetryAfter.StringSlice([]string{v}))
	}
	if resp.StatusCode == http.StatusNotFound {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		return nil, retry.Permanent(&statusError{code: resp.StatusCode})
	}
	return resp, nil
}

// workloadHooks let the workload keep its own count of what the telemetry must show,
// straight from the engine's events: the attempts, timeouts, pauses and hedges of each
// call, and how it ended. They come after otelretry's hooks, so OnStart sees the context
// with the call's span: its trace is the one the tree of the call is built from. The
// engine never runs two hooks of one call at once, even when its attempts overlap, so
// they update the call's log without a lock.
var workloadHooks = hooks.Hooks{
	OnStart: func(ctx context.Context, c hooks.Call) context.Context {
		if l, ok := ctx.Value(callLogKey{}).(*callLog); ok {
			l.traceID = trace.SpanContextFromContext(ctx).TraceID()
			l.hedging = c.Hedging
		}
		return nil
	},
	OnAttempt: func(ctx context.Context, a hooks.Attempt) context.Context {
		l, ok := ctx.Value(callLogKey{}).(*callLog)
		if !ok {
			return nil
		}
		l.attempts = a.Number
		if l.plan != nil {
			l.answers = append(l.answers, l.plan(l.id, a.Number))
		}
		if a.Hedged {
			l.hedges++
		}
		return nil
	},
	OnAttemptEnd: func(ctx context.Context, a hooks.Attempt) {
		if l, ok := ctx.Value(callLogKey{}).(*callLog); ok && a.Superseded {
			l.superseded++
		}
	},
	OnTimeout: func(ctx context.Context, _ hooks.Attempt) {
		if l, ok := ctx.Value(callLogKey{}).(*callLog); ok {
			l.timeouts++
		}
	},
	OnRetry: func(ctx context.Context, _ hooks.Attempt, delay time.Duration) {
		if l, ok := ctx.Value(callLogKey{}).(*callLog); ok {
			l.pauses = append(l.pauses, delay)
		}
	},
	// The Transport returns the last response of a call that gave up on one, with no
	// error, as net/http wants: the call's outcome and error come from here.
	OnDone: func(ctx context.Context, r hooks.Result) {
		if l, ok := ctx.Value(callLogKey{}).(*callLog); ok {
			l.outcome, l.err, l.ended = r.Outcome.String(), r.Err, true
		}
	},
}

// callLogKey is the context key under which a call carries its *callLog to the hooks.
type callLogKey struct{}

// call makes call number id, one request through the retrying client, and records in
// log what happened, as the workload itself sees it: the attempts made, the outcome,
// the trace. plan is the service's plan, for the log's list of answers.
func (c *client) call(ctx context.Context, id int, plan func(call, attempt int) answer, log *callLog) {
	log.plan = plan
	ctx = context.WithValue(ctx, callLogKey{}, log)
	start := time.Now()
	hc := c.http
	if log.hedge {
		hc = c.hedging
	}
	resp, err := c.do(ctx, hc, id, log.post)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	log.elapsed = time.Since(start)
	if !log.ended { // the request never reached the policy
		log.err, log.outcome = err, outcomeOf(err)
	}
}

// do sends the call's request with hc: a GET of the item, or a POST of a reservation
// that carries an Idempotency-Key, so that the Transport may send it again.
func (c *client) do(ctx context.Context, hc *http.Client, id int, post bool) (*http.Response, error) {
	method, body := http.MethodGet, io.Reader(nil)
	if post {
		method, body = http.MethodPost, strings.NewReader(reservation)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set(headerCall, strconv.Itoa(id))
	if post {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "reservation-"+strconv.Itoa(id))
	}
	return hc.Do(req)
}

// statusError is the service's 404: the item does not exist.
type statusError struct{ code int }

func (e *statusError) Error() string {
	return "inventory: " + strconv.Itoa(e.code) + " " + http.StatusText(e.code)
}

// ErrorType gives error.type the status code, as the HTTP semantic conventions do.
func (e *statusError) ErrorType() string { return strconv.Itoa(e.code) }

// outcomeOf is the outcome of a call as the caller sees it: from the *retry.Error that
// Do returns for every failure.
func outcomeOf(err error) string {
	if err == nil {
		return "success"
	}
	if e, ok := errors.AsType[*retry.Error](err); ok {
		return e.Outcome.String()
	}
	return fmt.Sprintf("unexpected error %T", err)
}
