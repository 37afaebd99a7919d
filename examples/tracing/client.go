package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
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

// client calls the flaky service through an otelhttp-instrumented net/http client,
// wrapped in a retry policy with otelretry hooks: each HTTP span nests under the span
// of its attempt.
type client struct {
	url       string
	http      *http.Client
	transport *http.Transport
	policy    *retry.Policy
}

func newClient(cfg *config, url string, tel *telemetry) (*client, error) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	policy, err := retry.New(
		retry.Name(operationName),
		retry.MaxTries(cfg.maxTries),
		retry.AttemptTimeout(cfg.attemptTimeout),
		retry.Deadline(cfg.deadline),
		// No jitter, so that the trees of two runs compare line by line; a fleet of
		// clients wants retry.EqualJitter around it.
		retry.PauseWith(retry.Exponential(50*time.Millisecond, 2, 400*time.Millisecond)),
		retry.Hooks(otelretry.Hooks(
			otelretry.WithTracerProvider(tel.tp),
			otelretry.WithMeterProvider(tel.mp),
		), workloadHooks),
	)
	if err != nil {
		return nil, err
	}
	return &client{
		url:       url + "/item/42",
		transport: transport,
		http: &http.Client{Transport: otelhttp.NewTransport(transport,
			otelhttp.WithTracerProvider(tel.tp),
			otelhttp.WithMeterProvider(tel.mp),
			// W3C trace context on every request: an instrumented service would continue
			// the attempt's trace.
			otelhttp.WithPropagators(propagation.TraceContext{}),
		)},
		policy: policy,
	}, nil
}

// close drops the kept-alive connections, and with them their goroutines.
func (c *client) close() { c.transport.CloseIdleConnections() }

// workloadHooks let the workload keep its own count of what the telemetry must show,
// straight from the engine's events: the timeouts and the pauses of each call. They come
// after otelretry's hooks, so OnStart sees the context with the call's span: its trace
// is the one the tree of the call is built from.
var workloadHooks = hooks.Hooks{
	OnStart: func(ctx context.Context, _ hooks.Call) context.Context {
		if l, ok := ctx.Value(callLogKey{}).(*callLog); ok {
			l.traceID = trace.SpanContextFromContext(ctx).TraceID()
		}
		return nil
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
}

// callLogKey is the context key under which a call carries its *callLog to the hooks.
type callLogKey struct{}

// call makes call number id through the retry policy and records in log what happened,
// as the workload itself sees it: the attempts made, the outcome, the trace.
func (c *client) call(ctx context.Context, id int, plan func(call, attempt int) answer, log *callLog) {
	ctx = context.WithValue(ctx, callLogKey{}, log)
	start := time.Now()
	err := c.policy.Do(ctx, func(ctx context.Context) error {
		log.attempts++
		log.answers = append(log.answers, plan(id, log.attempts))
		return c.get(ctx, id, log.attempts)
	})
	log.elapsed = time.Since(start)
	log.err = err
	log.outcome = outcomeOf(err)
}

// get is one attempt: one HTTP request. A 429 or 503 with Retry-After carries the
// server's wait to the retry policy (package retryhttp reads the header); other 4xx are
// not worth retrying.
func (c *client) get(ctx context.Context, id, attempt int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return retry.Permanent(err)
	}
	req.Header.Set(headerCall, strconv.Itoa(id))
	req.Header.Set(headerAttempt, strconv.Itoa(attempt))
	resp, err := c.http.Do(req)
	if err != nil {
		return err // a transport error or the attempt's timeout: retryable
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode < 300 {
		return nil
	}
	failure := &statusError{code: resp.StatusCode}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		if v := resp.Header.Get("Retry-After"); v != "" {
			// On the attempt span, so that the trees can tell why a pause was long.
			trace.SpanFromContext(ctx).SetAttributes(attrRetryAfter.StringSlice([]string{v}))
		}
		// The server's wait, if it asked for one, becomes the policy's delay hint.
		return retryhttp.WithRetryAfter(failure, resp)
	case resp.StatusCode >= 500:
		return failure
	}
	return retry.Permanent(failure)
}

// statusError is an HTTP answer that is not a success.
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
