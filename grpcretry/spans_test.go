package grpcretry_test

import (
	"context"
	"testing"

	"github.com/retrykit/retrykit/grpcretry"
	"github.com/retrykit/retrykit/otelretry"
	"github.com/retrykit/retrykit/retry"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// TestSpanTree: with otelretry's hooks and otelgrpc's stats handler, a call is one
// trace: retry <op> -> attempt <op> -> otelgrpc's CLIENT span, one per attempt.
func TestSpanTree(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method string
		call   func(context.Context, *grpc.ClientConn) error
	}{
		{"unary", checkMethod, func(ctx context.Context, cc *grpc.ClientConn) error {
			_, err := check(ctx, cc)
			return err
		}},
		{"server streaming", watchMethod, func(ctx context.Context, cc *grpc.ClientConn) error {
			_, err := watchAll(ctx, cc)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			defer tp.Shutdown(context.Background())

			h := &health{
				check: sequence(fail(codes.Unavailable, "a"), fail(codes.Unavailable, "b")),
				watch: func(n int, s watchServer) error {
					if n <= 2 {
						return fail(codes.Unavailable, "not yet")
					}
					return s.Send(serving)
				},
			}
			p := retry.MustNew(retry.MaxTries(3), retry.Hooks(otelretry.Hooks(otelretry.WithTracerProvider(tp))))
			cc := loopback(t, h,
				grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelgrpc.WithTracerProvider(tp))),
				grpc.WithUnaryInterceptor(grpcretry.UnaryClientInterceptor(p)),
				grpc.WithStreamInterceptor(grpcretry.StreamClientInterceptor(p)))
			if err := tc.call(context.Background(), cc); err != nil {
				t.Fatal(err)
			}
			cc.Close() // ends the stream's CLIENT span, if still open

			spans := rec.Ended()
			var call sdktrace.ReadOnlySpan
			attempts := map[trace.SpanID]sdktrace.ReadOnlySpan{}
			var clients []sdktrace.ReadOnlySpan
			for _, s := range spans {
				switch {
				case s.Name() == "retry "+tc.method:
					call = s
				case s.Name() == "attempt "+tc.method:
					attempts[s.SpanContext().SpanID()] = s
				case s.SpanKind() == trace.SpanKindClient:
					clients = append(clients, s)
				default:
					t.Errorf("unexpected span %q", s.Name())
				}
			}
			if call == nil || len(attempts) != 3 || len(clients) != 3 {
				t.Fatalf("spans: call %v, %d attempts, %d CLIENT spans; want 1, 3, 3", call != nil, len(attempts), len(clients))
			}
			tid := call.SpanContext().TraceID()
			numbers := map[int64]bool{}
			for _, a := range attempts {
				if a.Parent().SpanID() != call.SpanContext().SpanID() || a.SpanContext().TraceID() != tid {
					t.Errorf("attempt span %v is not a child of the call span", a.SpanContext().SpanID())
				}
				n := attr(a, "retry.attempt.number").AsInt64()
				numbers[n] = true
				if n < 3 {
					if attr(a, "error.type").AsString() != "UNAVAILABLE" || a.Status().Code != otelcodes.Error {
						t.Errorf("attempt %d: error.type %q, status %v; want UNAVAILABLE, Error", n, attr(a, "error.type").AsString(), a.Status())
					}
				} else if a.Status().Code == otelcodes.Error {
					t.Errorf("attempt 3 has status %v", a.Status())
				}
			}
			if len(numbers) != 3 {
				t.Errorf("attempt numbers %v, want 1, 2, 3", numbers)
			}
			seen := map[trace.SpanID]bool{}
			for _, c := range clients {
				parent := c.Parent().SpanID()
				if _, ok := attempts[parent]; !ok || seen[parent] || c.SpanContext().TraceID() != tid {
					t.Errorf("CLIENT span %q is not the only child of an attempt span of the trace", c.Name())
				}
				seen[parent] = true
			}
			if got := attr(call, "retry.outcome").AsString(); got != "success" {
				t.Errorf("retry.outcome %q", got)
			}
		})
	}
}

func attr(s sdktrace.ReadOnlySpan, key attribute.Key) attribute.Value {
	for _, kv := range s.Attributes() {
		if kv.Key == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}
