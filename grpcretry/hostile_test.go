package grpcretry_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/retrykit/retrykit/grpcretry"
	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// TestHostileServer: nothing a server sends makes a call panic, outlive its deadline or
// leave a stream behind (goleak checks the last point when the tests end).
func TestHostileServer(t *testing.T) {
	ignoreContext := func() { time.Sleep(time.Minute) } // the handler never looks at its context
	for _, tc := range []struct {
		name     string
		check    func(context.Context, int) (*healthpb.HealthCheckResponse, error)
		watch    func(int, watchServer) error
		wantCode codes.Code
		wantOut  hooks.Outcome
		wantTime time.Duration
		messages int // Watch: messages received before the error
	}{
		{name: "unknown status code", check: sequence(fail(99, "what")),
			wantCode: 99, wantOut: hooks.Permanent},
		{name: "handler ignores its context", check: func(context.Context, int) (*healthpb.HealthCheckResponse, error) {
			ignoreContext()
			return serving, nil
		}, wantCode: codes.DeadlineExceeded, wantOut: hooks.Deadline, wantTime: 2 * time.Second},
		{name: "a hundred pushback values", check: func(ctx context.Context, _ int) (*healthpb.HealthCheckResponse, error) {
			kv := make([]string, 0, 200)
			for range 100 {
				kv = append(kv, "grpc-retry-pushback-ms", "1")
			}
			return withTrailer(ctx, fail(codes.Unavailable, "busy"), kv...)
		}, wantCode: codes.Unavailable, wantOut: hooks.Permanent},
		{name: "pushback past the deadline", check: func(ctx context.Context, _ int) (*healthpb.HealthCheckResponse, error) {
			return withTrailer(ctx, fail(codes.Unavailable, "busy"), "grpc-retry-pushback-ms", "86400000")
		}, wantCode: codes.DeadlineExceeded, wantOut: hooks.Deadline},
		{name: "stream never sends", watch: func(int, watchServer) error {
			ignoreContext()
			return nil
		}, wantCode: codes.DeadlineExceeded, wantOut: hooks.Deadline, wantTime: 2 * time.Second},
		{name: "stream hangs after its first message", watch: func(_ int, s watchServer) error {
			if err := s.Send(serving); err != nil {
				return err
			}
			ignoreContext()
			return nil
		}, wantCode: codes.DeadlineExceeded, wantTime: 2 * time.Second, messages: 1},
		{name: "stream with an unknown code", watch: func(int, watchServer) error { return fail(1000, "what") },
			wantCode: 1000, wantOut: hooks.Permanent},
		{name: "stream trailer of garbage", watch: func(_ int, s watchServer) error {
			s.SetTrailer(metadata.Pairs("grpc-retry-pushback-ms", "12 ms, or later"))
			return fail(codes.Unavailable, "busy")
		}, wantCode: codes.Unavailable, wantOut: hooks.Permanent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &health{check: tc.check, watch: tc.watch}
			p := retry.MustNew(retry.AttemptTimeout(500*time.Millisecond), retry.Deadline(2*time.Second))
			opts := []grpc.DialOption{
				grpc.WithUnaryInterceptor(grpcretry.UnaryClientInterceptor(p)),
				grpc.WithStreamInterceptor(grpcretry.StreamClientInterceptor(p)),
			}
			bubble(t, h, opts, func(t *testing.T, cc *grpc.ClientConn) {
				start := time.Now()
				var err error
				messages := 0
				if tc.check != nil {
					_, err = check(context.Background(), cc)
				} else {
					var w grpc.ServerStreamingClient[healthpb.HealthCheckResponse]
					w, err = healthpb.NewHealthClient(cc).Watch(context.Background(), &healthpb.HealthCheckRequest{})
					for err == nil {
						if _, err = w.Recv(); err == nil {
							messages++
						}
					}
					if err == io.EOF {
						err = nil
					}
				}
				if got := time.Since(start); got != tc.wantTime {
					t.Errorf("the call took %v, want %v", got, tc.wantTime)
				}
				if status.Code(err) != tc.wantCode || messages != tc.messages {
					t.Errorf("%d messages, then %v; want %d, then code %v", messages, err, tc.messages, tc.wantCode)
				}
				if tc.wantOut != 0 {
					if re, ok := errors.AsType[*retry.Error](err); !ok || re.Outcome != tc.wantOut {
						t.Errorf("err %v, want outcome %v", err, tc.wantOut)
					}
				}
			})
		})
	}
}
