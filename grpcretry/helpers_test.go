package grpcretry_test

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"testing/synctest"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

const (
	checkMethod   = "/grpc.health.v1.Health/Check"
	watchMethod   = "/grpc.health.v1.Health/Watch"
	collectMethod = "/retrykit.test.Collector/Collect"
)

// health is the standard health service with handlers scripted per test. n is the
// 1-based number of the call the server is answering.
type health struct {
	healthpb.UnimplementedHealthServer
	check   func(ctx context.Context, n int) (*healthpb.HealthCheckResponse, error)
	watch   func(n int, stream grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error
	collect func(stream grpc.ServerStream) error

	mu       sync.Mutex
	md       []metadata.MD // the incoming metadata of every call, in order
	services []string      // the service named by every request, in order
}

func (h *health) record(ctx context.Context, service string) int {
	md, _ := metadata.FromIncomingContext(ctx)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.md = append(h.md, md)
	h.services = append(h.services, service)
	return len(h.md)
}

// requests returns the service named by every request received.
func (h *health) requests() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.services)
}

// reset forgets the calls received and scripts Check anew.
func (h *health) reset(check func(context.Context, int) (*healthpb.HealthCheckResponse, error)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.md, h.services = nil, nil
	h.check = check
}

// calls returns the number of calls the server received.
func (h *health) calls() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.md)
}

// attemptHeaders returns, for every call received, the values of key in its metadata
// ("" when absent).
func (h *health) attemptHeaders(key string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, md := range h.md {
		v := md.Get(key)
		if len(v) == 0 {
			out = append(out, "")
			continue
		}
		out = append(out, v[0])
	}
	return out
}

func (h *health) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	n := h.record(ctx, req.GetService())
	h.mu.Lock()
	check := h.check
	h.mu.Unlock()
	return check(ctx, n)
}

func (h *health) Watch(req *healthpb.HealthCheckRequest, stream grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	n := h.record(stream.Context(), req.GetService())
	return h.watch(n, stream)
}

// collectorDesc is a client-streaming method registered by hand (no code generation):
// the health service has none. It reuses the health messages.
var collectorDesc = grpc.ServiceDesc{
	ServiceName: "retrykit.test.Collector",
	HandlerType: (*any)(nil),
	Streams: []grpc.StreamDesc{{
		StreamName:    "Collect",
		ClientStreams: true,
		Handler: func(srv any, stream grpc.ServerStream) error {
			h := srv.(*health)
			h.record(stream.Context(), "")
			return h.collect(stream)
		},
	}},
}

var (
	serving    = &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}
	notServing = &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_NOT_SERVING}
)

// sequence answers call n with the n-th error of errs (nil: serving), and with serving
// past the end.
func sequence(errs ...error) func(context.Context, int) (*healthpb.HealthCheckResponse, error) {
	return func(_ context.Context, n int) (*healthpb.HealthCheckResponse, error) {
		if n <= len(errs) && errs[n-1] != nil {
			return nil, errs[n-1]
		}
		return serving, nil
	}
}

func fail(code codes.Code, msg string) error { return status.Error(code, msg) }

// withTrailer sends trailer metadata kv with the answer of a unary handler.
func withTrailer(ctx context.Context, err error, kv ...string) (*healthpb.HealthCheckResponse, error) {
	if terr := grpc.SetTrailer(ctx, metadata.Pairs(kv...)); terr != nil {
		panic(terr)
	}
	return nil, err
}

func newServer(h *health) *grpc.Server {
	s := grpc.NewServer()
	healthpb.RegisterHealthServer(s, h)
	s.RegisterService(&collectorDesc, h)
	return s
}

// loopback serves h on 127.0.0.1 and returns a client connection to it, dialed with
// gRPC's own retries off and opts. Both are closed when the test ends.
func loopback(t testing.TB, h *health, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(h)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(lis)
	}()
	t.Cleanup(func() {
		s.Stop()
		<-done
	})
	return dial(t, lis.Addr().String(), opts...)
}

// grpcRetries, among a test's dial options, leaves gRPC's own retries on: every other
// connection is dialed with grpc.WithDisableRetry, as the package documentation says.
type grpcRetries struct{ grpc.EmptyDialOption }

func dial(t testing.TB, target string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	base := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if !slices.ContainsFunc(opts, func(o grpc.DialOption) bool { _, ok := o.(grpcRetries); return ok }) {
		base = append(base, grpc.WithDisableRetry())
	}
	opts = append(base, opts...)
	cc, err := grpc.NewClient(target, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// bubble runs f in a synctest bubble with a client connected to h through an in-memory
// listener made in the bubble, so that the fake clock times the retries: real sockets
// block outside the bubble's knowledge and would never let it advance time.
func bubble(t *testing.T, h *health, opts []grpc.DialOption, f func(t *testing.T, cc *grpc.ClientConn)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		lis := bufconn.Listen(1 << 20)
		s := newServer(h)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = s.Serve(lis)
		}()
		opts = append(slices.Clip(opts), grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return lis.DialContext(ctx)
		}))
		cc := dial(t, "passthrough:///bufconn", opts...)
		f(t, cc)
		cc.Close()
		// GracefulStop waits for the handlers, even those that ignore their context; in
		// the bubble, the clock runs until they are done.
		s.GracefulStop()
		<-done
	})
}

func check(ctx context.Context, cc *grpc.ClientConn, opts ...grpc.CallOption) (*healthpb.HealthCheckResponse, error) {
	return healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{Service: "svc"}, opts...)
}

// errorTyper is the method OpenTelemetry instrumentations read error.type from.
type errorTyper interface {
	error
	ErrorType() string
}

// incoming returns the values of key in the incoming metadata of a server context.
func incoming(ctx context.Context, key string) []string {
	md, _ := metadata.FromIncomingContext(ctx)
	return md.Get(key)
}
