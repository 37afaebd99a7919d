package grpcretry_test

import (
	"context"
	"testing"
	"time"

	"github.com/retrykit/retrykit/grpcretry"
	"github.com/retrykit/retrykit/retry"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// BenchmarkUnaryInterceptor measures what the interceptor itself adds to a first-try
// success, with an invoker that does nothing (bench/ scenario G measures real calls).
func BenchmarkUnaryInterceptor(b *testing.B) {
	invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
	req, reply := &healthpb.HealthCheckRequest{}, &healthpb.HealthCheckResponse{}
	opts := []grpc.CallOption{grpc.StaticMethod()}
	ctx, cancel := context.WithCancel(context.Background()) // a caller's context can be done
	defer cancel()
	for _, bc := range []struct {
		name string
		icpt grpc.UnaryClientInterceptor
	}{
		{"none", func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			return invoker(ctx, method, req, reply, cc, opts...)
		}},
		{"grpcretry", grpcretry.UnaryClientInterceptor(retry.MustNew(retry.MaxTries(3)))},
		{"grpcretry-named", grpcretry.UnaryClientInterceptor(retry.MustNew(retry.MaxTries(3), retry.Name("check")))},
		{"grpcretry-hedging", grpcretry.UnaryClientInterceptor(retry.MustNew(retry.MaxTries(3), retry.HedgeAfter(time.Second)))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := bc.icpt(ctx, checkMethod, req, reply, nil, invoker, opts...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
