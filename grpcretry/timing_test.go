package grpcretry_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/retrykit/retrykit/grpcretry"
	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// These tests run in a synctest bubble (see bubble): durations are exact and take no
// wall time.

// hang answers when the server's context ends, with the status gRPC gives that end.
func hang(ctx context.Context, _ int) (*healthpb.HealthCheckResponse, error) {
	<-ctx.Done()
	return nil, status.FromContextError(ctx.Err()).Err()
}

// slowThenOK answers the first call after d (or at the end of its context), the others
// at once.
func slowThenOK(d time.Duration) func(context.Context, int) (*healthpb.HealthCheckResponse, error) {
	return func(ctx context.Context, n int) (*healthpb.HealthCheckResponse, error) {
		if n == 1 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return nil, status.FromContextError(ctx.Err()).Err()
			}
		}
		return serving, nil
	}
}

func unary(p *retry.Policy, opts ...grpcretry.Option) []grpc.DialOption {
	return []grpc.DialOption{grpc.WithUnaryInterceptor(grpcretry.UnaryClientInterceptor(p, opts...))}
}

func TestUnaryTimeouts(t *testing.T) {
	for _, tc := range []struct {
		name      string
		p         *retry.Policy
		codes     []grpcretry.Option
		check     func(context.Context, int) (*healthpb.HealthCheckResponse, error)
		callDL    time.Duration // the caller's context deadline, 0: none
		wantCalls int
		wantTime  time.Duration
		wantCode  codes.Code // OK: success
		wantOut   hooks.Outcome
	}{
		{
			name:      "attempt timeout retried",
			p:         retry.MustNew(retry.AttemptTimeout(time.Second), retry.MaxTries(3)),
			check:     slowThenOK(5 * time.Second),
			wantCalls: 2, wantTime: time.Second, wantCode: codes.OK,
		},
		{
			name:      "every attempt times out",
			p:         retry.MustNew(retry.AttemptTimeout(time.Second), retry.MaxTries(3), retry.Pause(100*time.Millisecond)),
			check:     hang,
			wantCalls: 3, wantTime: 3200 * time.Millisecond, wantCode: codes.DeadlineExceeded, wantOut: hooks.Exhausted,
		},
		{
			name:      "policy deadline ends the third attempt",
			p:         retry.MustNew(retry.AttemptTimeout(time.Second), retry.Deadline(2500*time.Millisecond)),
			check:     hang,
			wantCalls: 3, wantTime: 2500 * time.Millisecond, wantCode: codes.DeadlineExceeded, wantOut: hooks.Deadline,
		},
		{
			name:      "caller deadline ends the third attempt",
			p:         retry.MustNew(retry.AttemptTimeout(time.Second)),
			check:     hang,
			callDL:    2500 * time.Millisecond,
			wantCalls: 3, wantTime: 2500 * time.Millisecond, wantCode: codes.DeadlineExceeded, wantOut: hooks.Deadline,
		},
		{
			name:      "caller deadline, no attempt timeout: one attempt",
			p:         retry.MustNew(retry.MaxTries(5)),
			check:     hang,
			callDL:    time.Second,
			wantCalls: 1, wantTime: time.Second, wantCode: codes.DeadlineExceeded, wantOut: hooks.Deadline,
		},
		{
			name:      "server's own DeadlineExceeded is not retried",
			p:         retry.MustNew(retry.AttemptTimeout(time.Second), retry.MaxTries(3)),
			check:     sequence(fail(codes.DeadlineExceeded, "backend too slow")),
			wantCalls: 1, wantTime: 0, wantCode: codes.DeadlineExceeded, wantOut: hooks.Permanent,
		},
		{
			name:      "server's own DeadlineExceeded retried when listed",
			p:         retry.MustNew(retry.AttemptTimeout(time.Second), retry.MaxTries(3)),
			codes:     []grpcretry.Option{grpcretry.Codes(codes.DeadlineExceeded)},
			check:     sequence(fail(codes.DeadlineExceeded, "backend too slow")),
			wantCalls: 2, wantTime: 0, wantCode: codes.OK,
		},
		{
			name:      "pause that would overrun the deadline is not slept",
			p:         retry.MustNew(retry.Deadline(time.Second), retry.Pause(2*time.Second)),
			check:     sequence(fail(codes.Unavailable, "down")),
			wantCalls: 1, wantTime: 0, wantCode: codes.DeadlineExceeded, wantOut: hooks.Deadline,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &health{check: tc.check}
			bubble(t, h, unary(tc.p, tc.codes...), func(t *testing.T, cc *grpc.ClientConn) {
				ctx := context.Background()
				if tc.callDL > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tc.callDL)
					defer cancel()
				}
				start := time.Now()
				_, err := check(ctx, cc)
				if got := time.Since(start); got != tc.wantTime {
					t.Errorf("the call took %v, want %v", got, tc.wantTime)
				}
				if got := h.calls(); got != tc.wantCalls {
					t.Errorf("%d calls, want %d", got, tc.wantCalls)
				}
				if got := status.Code(err); got != tc.wantCode {
					t.Fatalf("status.Code(%v) = %v, want %v", err, got, tc.wantCode)
				}
				if err == nil {
					return
				}
				re, ok := errors.AsType[*retry.Error](err)
				if !ok || re.Outcome != tc.wantOut {
					t.Errorf("outcome %v, want %v (err %v)", re, tc.wantOut, err)
				}
			})
		})
	}
}

func TestUnaryCancel(t *testing.T) {
	for _, tc := range []struct {
		name      string
		p         *retry.Policy
		check     func(context.Context, int) (*healthpb.HealthCheckResponse, error)
		cancelAt  time.Duration
		wantCalls int
	}{
		{"mid-attempt", retry.MustNew(retry.MaxTries(3)), hang, 500 * time.Millisecond, 1},
		{"mid-pause", retry.MustNew(retry.Pause(time.Second)), func(ctx context.Context, n int) (*healthpb.HealthCheckResponse, error) {
			return nil, fail(codes.Unavailable, "down")
		}, 1500 * time.Millisecond, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &health{check: tc.check}
			bubble(t, h, unary(tc.p), func(t *testing.T, cc *grpc.ClientConn) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				time.AfterFunc(tc.cancelAt, cancel)
				start := time.Now()
				_, err := check(ctx, cc)
				if got := time.Since(start); got != tc.cancelAt {
					t.Errorf("the call took %v, want %v", got, tc.cancelAt)
				}
				if h.calls() != tc.wantCalls {
					t.Errorf("%d calls, want %d", h.calls(), tc.wantCalls)
				}
				if status.Code(err) != codes.Canceled || !errors.Is(err, context.Canceled) {
					t.Errorf("err = %v (code %v), want Canceled matching context.Canceled", err, status.Code(err))
				}
				if re, ok := errors.AsType[*retry.Error](err); !ok || re.Outcome != hooks.Canceled || re.Attempts != tc.wantCalls {
					t.Errorf("retry error %+v", re)
				}
			})
		})
	}
}

func TestPushback(t *testing.T) {
	for _, tc := range []struct {
		name      string
		p         *retry.Policy
		code      codes.Code
		pushback  []string
		wantCalls int
		wantTime  time.Duration // until the call ended
		wantCode  codes.Code
		wantOut   hooks.Outcome
	}{
		{"longer than the pause", retry.MustNew(retry.Pause(100 * time.Millisecond)), codes.Unavailable, []string{"250"}, 3, 500 * time.Millisecond, codes.OK, 0},
		{"shorter than the pause", retry.MustNew(retry.Pause(100 * time.Millisecond)), codes.Unavailable, []string{"50"}, 3, 200 * time.Millisecond, codes.OK, 0},
		{"zero", retry.MustNew(), codes.Unavailable, []string{"0"}, 3, 0, codes.OK, 0},
		{"leading zeros", retry.MustNew(), codes.Unavailable, []string{"0300"}, 3, 600 * time.Millisecond, codes.OK, 0},
		{"negative", retry.MustNew(), codes.Unavailable, []string{"-1"}, 1, 0, codes.Unavailable, hooks.Permanent},
		{"malformed", retry.MustNew(), codes.Unavailable, []string{"soon"}, 1, 0, codes.Unavailable, hooks.Permanent},
		{"fraction", retry.MustNew(), codes.Unavailable, []string{"1.5"}, 1, 0, codes.Unavailable, hooks.Permanent},
		{"empty", retry.MustNew(), codes.Unavailable, []string{""}, 1, 0, codes.Unavailable, hooks.Permanent},
		{"overflow", retry.MustNew(), codes.Unavailable, []string{"99999999999999999999999"}, 1, 0, codes.Unavailable, hooks.Permanent},
		{"two values", retry.MustNew(), codes.Unavailable, []string{"10", "20"}, 1, 0, codes.Unavailable, hooks.Permanent},
		{"beyond the deadline", retry.MustNew(retry.Deadline(time.Second)), codes.Unavailable, []string{"5000"}, 1, 0, codes.DeadlineExceeded, hooks.Deadline},
		{"huge, within Atoi's range", retry.MustNew(retry.Deadline(time.Second)), codes.Unavailable, []string{"9223372036854775807"}, 1, 0, codes.DeadlineExceeded, hooks.Deadline},
		{"on a code not retried", retry.MustNew(), codes.ResourceExhausted, []string{"100"}, 1, 0, codes.ResourceExhausted, hooks.Permanent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &health{check: func(ctx context.Context, n int) (*healthpb.HealthCheckResponse, error) {
				if n > 2 {
					return serving, nil
				}
				kv := make([]string, 0, 2*len(tc.pushback))
				for _, v := range tc.pushback {
					kv = append(kv, "grpc-retry-pushback-ms", v)
				}
				return withTrailer(ctx, fail(tc.code, "busy"), kv...)
			}}
			bubble(t, h, unary(tc.p), func(t *testing.T, cc *grpc.ClientConn) {
				start := time.Now()
				_, err := check(context.Background(), cc)
				if got := time.Since(start); got != tc.wantTime {
					t.Errorf("the call took %v, want %v", got, tc.wantTime)
				}
				if h.calls() != tc.wantCalls {
					t.Errorf("%d calls, want %d", h.calls(), tc.wantCalls)
				}
				if status.Code(err) != tc.wantCode {
					t.Fatalf("err = %v, want code %v", err, tc.wantCode)
				}
				if err == nil {
					return
				}
				if re, ok := errors.AsType[*retry.Error](err); !ok || re.Outcome != tc.wantOut {
					t.Errorf("retry error %v, want outcome %v", err, tc.wantOut)
				}
				if tc.wantOut == hooks.Permanent && tc.code == codes.Unavailable {
					if st := status.Convert(err); st.Message() != "busy" {
						t.Errorf("message %q, want the server's", st.Message())
					}
					if !strings.Contains(err.Error(), "grpc-retry-pushback-ms") {
						t.Errorf("%q should say that the pushback stopped the retries", err)
					}
				}
			})
		})
	}
}
