package grpcretry_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/retrykit/retrykit/grpcretry"
	"github.com/retrykit/retrykit/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// flaky is a health service that is unavailable for its first two calls.
type flaky struct {
	healthpb.UnimplementedHealthServer
	calls int
}

func (f *flaky) Check(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	f.calls++
	if f.calls <= 2 {
		return nil, status.Error(codes.Unavailable, "warming up")
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

func Example() {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, &flaky{})
	go srv.Serve(lis)
	defer srv.Stop()
	target := lis.Addr().String()

	p := retry.MustNew(
		retry.MaxTries(4),
		retry.AttemptTimeout(300*time.Millisecond),
		retry.Deadline(2*time.Second),
		retry.PauseWith(retry.FullJitter(retry.Exponential(50*time.Millisecond, 2, time.Second))),
	)
	cc, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDisableRetry(), // gRPC's own retries would multiply with these
		grpc.WithUnaryInterceptor(grpcretry.UnaryClientInterceptor(p)),
		grpc.WithStreamInterceptor(grpcretry.StreamClientInterceptor(p)),
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

// The error of a failed call is a gRPC status error and a *retry.Error at once.
func Example_errors() {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, healthpb.UnimplementedHealthServer{})
	go srv.Serve(lis)
	defer srv.Stop()

	p := retry.MustNew(retry.MaxTries(3))
	cc, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDisableRetry(),
		grpc.WithUnaryInterceptor(grpcretry.UnaryClientInterceptor(p, grpcretry.Codes(codes.Unavailable, codes.Unimplemented))),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer cc.Close()

	_, err = healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{})
	st := status.Convert(err)
	fmt.Println(st.Code(), "-", st.Message())
	var re *retry.Error
	if errors.As(err, &re) {
		fmt.Println(re.Outcome, "after", re.Attempts, "attempts")
	}
	// Output:
	// Unimplemented - method Check not implemented
	// exhausted after 3 attempts
}
