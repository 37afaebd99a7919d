package bench

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	grpcmw "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/retry"
	"github.com/retrykit/retrykit/grpcretry"
	"github.com/retrykit/retrykit/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// Scenario G: a unary call of the standard health service (grpc.health.v1.Health/Check)
// on a loopback connection, under the same policy as the other scenarios: at most
// maxTries attempts, Unavailable retried, no pause.

// grpcServiceConfig turns grpc-go's built-in retry on for the health service. gRPC
// refuses a zero initialBackoff, so the pause is the shortest it accepts to parse, 1ns
// (jittered by ±20%), which still costs a timer per retry.
const grpcServiceConfig = `{"methodConfig": [{
	"name": [{"service": "grpc.health.v1.Health"}],
	"retryPolicy": {
		"maxAttempts": 3,
		"initialBackoff": "0.000000001s",
		"maxBackoff": "0.000000001s",
		"backoffMultiplier": 1,
		"retryableStatusCodes": ["UNAVAILABLE"]
	}
}]}`

// A grpcLib is one way of making the call: its dial options and, for the direct row,
// the retries written by hand.
type grpcLib struct {
	name   string
	dial   func() []grpc.DialOption
	byHand bool // retry in the benchmark loop: maxTries attempts while Unavailable
}

var grpcLibs = []grpcLib{
	// The bare call, dialed as grpcretry's documentation says (gRPC's retries off).
	{name: "direct", byHand: true, dial: func() []grpc.DialOption {
		return []grpc.DialOption{grpc.WithDisableRetry()}
	}},
	{name: "retrykit", dial: func() []grpc.DialOption {
		p := retry.MustNew(retry.MaxTries(maxTries))
		return []grpc.DialOption{grpc.WithDisableRetry(), grpc.WithUnaryInterceptor(grpcretry.UnaryClientInterceptor(p))}
	}},
	// WithMax counts attempts, despite its documentation (retries); its default codes
	// add ResourceExhausted, and its default backoff waits 50ms.
	{name: "go-grpc-middleware", dial: func() []grpc.DialOption {
		icpt := grpcmw.UnaryClientInterceptor(grpcmw.WithMax(maxTries), grpcmw.WithCodes(codes.Unavailable),
			grpcmw.WithBackoff(grpcmw.BackoffLinear(0)))
		return []grpc.DialOption{grpc.WithDisableRetry(), grpc.WithUnaryInterceptor(icpt)}
	}},
	{name: "grpc-builtin", dial: func() []grpc.DialOption {
		return []grpc.DialOption{grpc.WithDefaultServiceConfig(grpcServiceConfig)}
	}},
}

// flakyHealth fails the first failures attempts of every call with Unavailable. Calls
// are serial, so the attempt count tells where a call is.
type flakyHealth struct {
	healthpb.UnimplementedHealthServer
	failures int64
	attempts atomic.Int64
}

var (
	healthOK    = &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}
	unavailable = status.Error(codes.Unavailable, "bench: unavailable")
)

func (f *flakyHealth) Check(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	n := f.attempts.Add(1)
	if (n-1)%(f.failures+1) < f.failures {
		return nil, unavailable
	}
	return healthOK, nil
}

// grpcCall serves a flakyHealth on 127.0.0.1, dials it the lib's way and returns the
// call the benchmark loop times, and the server. Both end with tb.
func grpcCall(tb testing.TB, l grpcLib, failures int) (func(context.Context) error, *flakyHealth) {
	tb.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := grpc.NewServer()
	h := &flakyHealth{failures: int64(failures)}
	healthpb.RegisterHealthServer(srv, h)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	tb.Cleanup(func() {
		srv.Stop()
		<-done
	})
	opts := append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, l.dial()...)
	cc, err := grpc.NewClient(lis.Addr().String(), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cc.Close() })

	client, req := healthpb.NewHealthClient(cc), &healthpb.HealthCheckRequest{}
	invoke := func(ctx context.Context) error {
		_, err := client.Check(ctx, req)
		return err
	}
	call := invoke
	if l.byHand {
		call = func(ctx context.Context) error {
			var err error
			for range maxTries {
				if err = invoke(ctx); status.Code(err) != codes.Unavailable {
					return err
				}
			}
			return err
		}
	}
	// Connect, and warm up the transport's buffers and flow control windows, so that
	// the first row of a run is not charged for what the others find ready.
	for range 200 {
		if err := call(context.Background()); err != nil {
			tb.Fatal(err)
		}
	}
	h.attempts.Store(0)
	return call, h
}

// verifyGRPC checks that calls calls all succeeded with failures+1 attempts each.
func verifyGRPC(tb testing.TB, h *flakyHealth, calls, failed, failures int) {
	tb.Helper()
	if failed != 0 {
		tb.Fatalf("%d of %d calls failed", failed, calls)
	}
	if got, want := h.attempts.Load(), int64(calls*(failures+1)); got != want {
		tb.Fatalf("the server saw %d attempts for %d calls, want %d", got, calls, want)
	}
}

func benchGRPC(b *testing.B, failures int) {
	for _, l := range grpcLibs {
		b.Run("lib="+l.name, func(b *testing.B) {
			call, h := grpcCall(b, l, failures)
			ctx := context.Background()
			calls, failed := 0, 0
			for b.Loop() {
				if call(ctx) != nil {
					failed++
				}
				calls++
			}
			b.StopTimer()
			verifyGRPC(b, h, calls, failed, failures)
		})
	}
}

// BenchmarkG_GRPCFirstTry: a unary call on loopback that succeeds at once, bare and
// through each retry interceptor.
func BenchmarkG_GRPCFirstTry(b *testing.B) { benchGRPC(b, 0) }

// BenchmarkG_GRPCTwoUnavailable: the server answers Unavailable twice, then OK.
func BenchmarkG_GRPCTwoUnavailable(b *testing.B) { benchGRPC(b, 2) }

func TestG_GRPC(t *testing.T) {
	for _, failures := range []int{0, 2} {
		for _, l := range grpcLibs {
			t.Run(l.name, func(t *testing.T) {
				call, h := grpcCall(t, l, failures)
				failed := 0
				for range 20 {
					if err := call(context.Background()); err != nil {
						t.Log(err)
						failed++
					}
				}
				verifyGRPC(t, h, 20, failed, failures)
			})
		}
	}
}
