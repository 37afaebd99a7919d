package grpcretry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/retrykit/retrykit/grpcretry"
	"github.com/retrykit/retrykit/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// A service config that turns gRPC's own retries on for the health service, as a name
// resolver may hand one to any client that did not disable them.
const grpcRetryConfig = `{"methodConfig": [{
	"name": [{"service": "grpc.health.v1.Health"}],
	"retryPolicy": {
		"maxAttempts": 3,
		"initialBackoff": "0.1s",
		"maxBackoff": "1s",
		"backoffMultiplier": 2,
		"retryableStatusCodes": ["UNAVAILABLE"]
	}
}]}`

// TestGRPCRetriesMultiply measures what the package documentation says about dialing
// without grpc.WithDisableRetry: gRPC's retries run inside each attempt, so a server
// that is down sees their product, and every attempt lasts as long as gRPC's backoffs.
func TestGRPCRetriesMultiply(t *testing.T) {
	for _, tc := range []struct {
		name      string
		dial      []grpc.DialOption
		wantCalls int
		min, max  time.Duration // how long the call takes
	}{
		{"WithDisableRetry", nil, 3, 200 * time.Millisecond, 200 * time.Millisecond},
		// Each of the 3 attempts also sleeps gRPC's backoffs of 0.1s and 0.2s, each
		// jittered by ±20%: 3 × [0.24s, 0.36s] more.
		{"gRPC retries on", []grpc.DialOption{grpcRetries{}, grpc.WithDefaultServiceConfig(grpcRetryConfig)}, 9, 920 * time.Millisecond, 1280 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &health{check: func(context.Context, int) (*healthpb.HealthCheckResponse, error) {
				return nil, fail(codes.Unavailable, "down")
			}}
			p := retry.MustNew(retry.MaxTries(3), retry.Pause(100*time.Millisecond))
			opts := append(tc.dial, grpc.WithUnaryInterceptor(grpcretry.UnaryClientInterceptor(p)))
			bubble(t, h, opts, func(t *testing.T, cc *grpc.ClientConn) {
				start := time.Now()
				_, err := check(context.Background(), cc)
				elapsed := time.Since(start)
				if !errors.Is(err, retry.ErrExhausted) {
					t.Fatalf("err = %v, want exhausted", err)
				}
				if got := h.calls(); got != tc.wantCalls {
					t.Errorf("the server saw %d calls, want %d", got, tc.wantCalls)
				}
				if elapsed < tc.min || elapsed > tc.max {
					t.Errorf("the call took %v, want %v to %v", elapsed, tc.min, tc.max)
				}
				t.Logf("%d server calls in %v", h.calls(), elapsed)
			})
		})
	}
}
