package grpcretry_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/retrykit/retrykit/grpcretry"
	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestConcurrentCalls: one interceptor shared by many goroutines, for unary and
// streaming methods at once, each call failing once; run with -race.
func TestConcurrentCalls(t *testing.T) {
	const goroutines, calls = 8, 25
	var attempts, named atomic.Int64
	p := retry.MustNew(retry.MaxTries(2), retry.Hooks(hooks.Hooks{OnAttempt: func(_ context.Context, a hooks.Attempt) context.Context {
		attempts.Add(1)
		if a.Call.Name == checkMethod || a.Call.Name == watchMethod {
			named.Add(1)
		}
		return nil
	}}))
	// The server sees the goroutines' calls interleaved, so it tells a first attempt
	// from a resend by the attempt metadata: the first fails, the resend succeeds.
	resend := func(md []string) bool { return len(md) > 0 }
	h := &health{}
	h.check = func(ctx context.Context, _ int) (*healthpb.HealthCheckResponse, error) {
		if !resend(incoming(ctx, "x-retry-attempt")) {
			return nil, fail(codes.Unavailable, "first attempt")
		}
		return serving, nil
	}
	h.watch = func(_ int, s watchServer) error {
		if !resend(incoming(s.Context(), "x-retry-attempt")) {
			return fail(codes.Unavailable, "first attempt")
		}
		return s.Send(serving)
	}
	cc := loopback(t, h, grpc.WithUnaryInterceptor(grpcretry.UnaryClientInterceptor(p)),
		grpc.WithStreamInterceptor(grpcretry.StreamClientInterceptor(p)))
	var wg sync.WaitGroup
	var failed atomic.Int64
	for g := range goroutines {
		wg.Go(func() {
			for range calls {
				var err error
				if g%2 == 0 {
					_, err = check(context.Background(), cc)
				} else {
					_, err = watchAll(context.Background(), cc)
				}
				if err != nil {
					failed.Add(1)
					t.Log(err)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("%d calls failed", failed.Load())
	}
	want := int64(2 * goroutines * calls)
	if attempts.Load() != want || named.Load() != want || int64(h.calls()) != want {
		t.Errorf("attempts: hooks %d (%d named after their method), server %d; want %d", attempts.Load(), named.Load(), h.calls(), want)
	}
}
