package otelretry_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/retrykit/retrykit/otelretry"
	"github.com/retrykit/retrykit/retry"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// printTree prints the ended spans in the order they started, indented under their
// parents, with the attributes named in keys.
func printTree(spans []sdktrace.ReadOnlySpan, keys ...attribute.Key) {
	spans = slices.Clone(spans)
	slices.SortStableFunc(spans, func(a, b sdktrace.ReadOnlySpan) int { return a.StartTime().Compare(b.StartTime()) })
	depth := map[string]int{}
	for _, s := range spans {
		d := 0
		if p := s.Parent(); p.IsValid() {
			d = depth[p.SpanID().String()] + 1
		}
		depth[s.SpanContext().SpanID().String()] = d
		line := strings.Repeat("  ", d) + s.Name()
		for _, kv := range s.Attributes() {
			for _, k := range keys {
				if kv.Key == k {
					line += fmt.Sprintf(" %s=%v", kv.Key, kv.Value.String())
				}
			}
		}
		fmt.Printf("%s [%s]\n", line, s.Status().Code)
	}
}

// unavailableError names itself for error.type through an ErrorType method, the method
// the semantic conventions' helpers look for.
type unavailableError struct{}

func (unavailableError) Error() string     { return "service unavailable" }
func (unavailableError) ErrorType() string { return "unavailable" }

// Wiring a policy with otelretry: give its hooks to the policy with retry.Hooks. In a
// program the providers would be the global ones, set up once with an exporter; here a
// span recorder shows what is recorded.
func ExampleHooks() {
	recorder := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	defer tp.Shutdown(context.Background())

	fetch := retry.MustNew(
		retry.Name("db.fetch"),
		retry.MaxTries(3),
		retry.Hooks(otelretry.Hooks(otelretry.WithTracerProvider(tp))),
	)

	calls := 0
	err := fetch.Do(context.Background(), func(ctx context.Context) error {
		calls++
		if calls == 1 {
			return unavailableError{}
		}
		return nil
	})
	fmt.Println("err:", err)
	printTree(recorder.Ended(), otelretry.AttemptCountKey, otelretry.OutcomeKey, otelretry.AttemptNumberKey, otelretry.ErrorTypeKey)
	// Output:
	// err: <nil>
	// retry db.fetch retry.attempt.count=2 retry.outcome=success [Unset]
	//   attempt db.fetch retry.attempt.number=1 error.type=unavailable [Error]
	//   attempt db.fetch retry.attempt.number=2 [Unset]
}

// An HTTP client call under a retry policy: the otelhttp client span of each request
// nests under the attempt span that made it, because the attempt's context carries that
// span.
func ExampleHooks_httpClient() {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	}))
	defer srv.Close()

	recorder := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	defer tp.Shutdown(context.Background())

	client := &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport, otelhttp.WithTracerProvider(tp))}
	defer client.CloseIdleConnections()

	errUnavailable := errors.New("503 service unavailable")
	get := retry.MustNew(
		retry.Name("users.get"),
		retry.MaxTries(3),
		retry.On(errUnavailable),
		retry.Hooks(otelretry.Hooks(otelretry.WithTracerProvider(tp))),
	)
	err := get.Do(context.Background(), func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/users/7", nil)
		if err != nil {
			return retry.Permanent(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			return errUnavailable
		}
		return nil
	})
	fmt.Println("err:", err)
	printTree(recorder.Ended(), otelretry.AttemptNumberKey, "http.response.status_code")
	// Output:
	// err: <nil>
	// retry users.get [Unset]
	//   attempt users.get retry.attempt.number=1 [Error]
	//     HTTP GET http.response.status_code=503 [Error]
	//   attempt users.get retry.attempt.number=2 [Unset]
	//     HTTP GET http.response.status_code=200 [Unset]
}

// With WithAttemptSpans(false) a call is one span, and each scheduled retry an event on
// it, for traces of calls that may retry many times.
func ExampleWithAttemptSpans() {
	recorder := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	defer tp.Shutdown(context.Background())

	p := retry.MustNew(
		retry.Name("queue.poll"),
		retry.MaxTries(3),
		retry.Hooks(otelretry.Hooks(otelretry.WithTracerProvider(tp), otelretry.WithAttemptSpans(false))),
	)
	err := p.Do(context.Background(), func(context.Context) error { return unavailableError{} })
	fmt.Println("err:", err)
	for _, s := range recorder.Ended() {
		fmt.Println(s.Name(), s.Status().Code)
		for _, ev := range s.Events() {
			fmt.Print("  ", ev.Name)
			for _, kv := range ev.Attributes {
				fmt.Printf(" %s=%s", kv.Key, kv.Value.String())
			}
			fmt.Println()
		}
	}
	// Output:
	// err: retry queue.poll: exhausted after 3 attempts: service unavailable
	// retry queue.poll Error
	//   retry.backoff retry.attempt.number=1 retry.delay=0 error.type=unavailable
	//   retry.backoff retry.attempt.number=2 retry.delay=0 error.type=unavailable
}
