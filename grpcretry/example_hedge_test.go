package grpcretry_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/retrykit/retrykit/grpcretry"
	"github.com/retrykit/retrykit/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
)

// slowFirst is a health service whose first attempts never answer: only a resend does.
type slowFirst struct {
	healthpb.UnimplementedHealthServer
}

func (slowFirst) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if md, _ := metadata.FromIncomingContext(ctx); len(md.Get(grpcretry.DefaultAttemptMetadata)) == 0 {
		<-ctx.Done() // a slow replica: the interceptor cancels this attempt
		return nil, ctx.Err()
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

// A hedging policy makes the unary interceptor hedge: the first attempt gets no answer,
// and the hedge started 20ms later answers for the call.
func ExampleUnaryClientInterceptor_hedging() {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, slowFirst{})
	go srv.Serve(lis)
	defer srv.Stop()

	p := retry.MustNew(retry.MaxTries(2), retry.HedgeAfter(20*time.Millisecond))
	cc, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDisableRetry(),
		grpc.WithUnaryInterceptor(grpcretry.UnaryClientInterceptor(p)),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer cc.Close()

	resp, err := healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.GetStatus())
	// Output: SERVING
}
