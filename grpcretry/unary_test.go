package grpcretry_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
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

var allCodes = []codes.Code{
	codes.Canceled, codes.Unknown, codes.InvalidArgument, codes.DeadlineExceeded, codes.NotFound,
	codes.AlreadyExists, codes.PermissionDenied, codes.ResourceExhausted, codes.FailedPrecondition,
	codes.Aborted, codes.OutOfRange, codes.Unimplemented, codes.Internal, codes.Unavailable,
	codes.DataLoss, codes.Unauthenticated,
}

// TestUnaryCodes sends every status code once, then OK: a code in Codes is retried and
// the call succeeds, any other ends the call with that status, message untouched.
func TestUnaryCodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []grpcretry.Option
		want []codes.Code // the retried codes
	}{
		{"default", nil, []codes.Code{codes.Unavailable}},
		{"Codes", []grpcretry.Option{grpcretry.Codes(codes.ResourceExhausted, codes.Aborted, codes.DeadlineExceeded, codes.Canceled)},
			[]codes.Code{codes.ResourceExhausted, codes.Aborted, codes.DeadlineExceeded, codes.Canceled}},
		{"Codes()", []grpcretry.Option{grpcretry.Codes()}, nil},
	} {
		h := &health{}
		p := retry.MustNew(retry.MaxTries(3))
		cc := loopback(t, h, grpc.WithUnaryInterceptor(grpcretry.UnaryClientInterceptor(p, tc.opts...)))
		for _, code := range allCodes {
			t.Run(tc.name+"/"+code.String(), func(t *testing.T) {
				h.reset(sequence(fail(code, "scripted "+code.String())))
				resp, err := check(context.Background(), cc)
				if slices.Contains(tc.want, code) {
					if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING || h.calls() != 2 {
						t.Fatalf("got %v, %v after %d calls; want SERVING after 2", resp, err, h.calls())
					}
					return
				}
				if h.calls() != 1 {
					t.Errorf("%d calls, want 1", h.calls())
				}
				st, ok := status.FromError(err)
				if !ok || st.Code() != code || st.Message() != "scripted "+code.String() {
					t.Errorf("status.FromError = %v, %v; want %v with the server's message", st, ok, code)
				}
				if !errors.Is(err, retry.ErrPermanent) {
					t.Errorf("err = %v, want it to match retry.ErrPermanent", err)
				}
			})
		}
	}
}

func TestUnaryErrorKeepsStatus(t *testing.T) {
	h := &health{check: sequence(fail(codes.Unavailable, "one"), fail(codes.Unavailable, "two"), fail(codes.Unavailable, "three"))}
	p := retry.MustNew(retry.MaxTries(3))
	cc := loopback(t, h, grpc.WithUnaryInterceptor(grpcretry.UnaryClientInterceptor(p)))
	_, err := check(context.Background(), cc)

	if got := status.Code(err); got != codes.Unavailable {
		t.Errorf("status.Code = %v, want Unavailable", got)
	}
	st, ok := status.FromError(err)
	if !ok || st.Message() != "three" {
		t.Errorf("status.FromError = %v, %v; want the last attempt's message, exactly", st, ok)
	}
	re, ok := errors.AsType[*retry.Error](err)
	if !ok || re.Outcome != hooks.Exhausted || re.Attempts != 3 {
		t.Fatalf("errors.As *retry.Error = %+v, %v; want exhausted after 3 attempts", re, ok)
	}
	if status.Code(re.Last) != codes.Unavailable || status.Convert(re.Last).Message() != "three" {
		t.Errorf("Last = %v, want the third attempt's status", re.Last)
	}
	if !errors.Is(err, retry.ErrExhausted) {
		t.Error("err does not match retry.ErrExhausted")
	}
	if et, ok := errors.AsType[errorTyper](err); !ok || et.ErrorType() != "UNAVAILABLE" {
		t.Errorf("ErrorType of the call error: %v", et)
	}
	if !strings.Contains(err.Error(), "/grpc.health.v1.Health/Check") || !strings.Contains(err.Error(), "three") {
		t.Errorf("message %q should name the method and the last error", err)
	}
}

// TestAttemptErrorType checks the error.type the hooks see for every code.
func TestAttemptErrorType(t *testing.T) {
	want := map[codes.Code]string{
		codes.Canceled: "CANCELLED", codes.Unknown: "UNKNOWN", codes.InvalidArgument: "INVALID_ARGUMENT",
		codes.DeadlineExceeded: "DEADLINE_EXCEEDED", codes.NotFound: "NOT_FOUND", codes.AlreadyExists: "ALREADY_EXISTS",
		codes.PermissionDenied: "PERMISSION_DENIED", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
		codes.FailedPrecondition: "FAILED_PRECONDITION", codes.Aborted: "ABORTED", codes.OutOfRange: "OUT_OF_RANGE",
		codes.Unimplemented: "UNIMPLEMENTED", codes.Internal: "INTERNAL", codes.Unavailable: "UNAVAILABLE",
		codes.DataLoss: "DATA_LOSS", codes.Unauthenticated: "UNAUTHENTICATED",
	}
	var mu sync.Mutex
	var seen []string
	p := retry.MustNew(retry.MaxTries(2), retry.Hooks(hooks.Hooks{OnAttemptEnd: func(_ context.Context, a hooks.Attempt) {
		if a.Err != nil {
			et, _ := errors.AsType[errorTyper](a.Err)
			mu.Lock()
			seen = append(seen, et.ErrorType())
			mu.Unlock()
		}
	}}))
	h := &health{}
	cc := loopback(t, h, grpc.WithUnaryInterceptor(grpcretry.UnaryClientInterceptor(p)))
	for _, code := range allCodes {
		seen = nil
		h.reset(sequence(fail(code, "x")))
		_, _ = check(context.Background(), cc)
		if len(seen) != 1 || seen[0] != want[code] {
			t.Errorf("%v: attempt error types %q, want [%s]", code, seen, want[code])
		}
	}
}

// TestUnaryNonStatusError: an inner interceptor's plain error counts as Unknown.
func TestUnaryNonStatusError(t *testing.T) {
	boom := errors.New("boom")
	inner := func(context.Context, string, any, any, *grpc.ClientConn, grpc.UnaryInvoker, ...grpc.CallOption) error {
		return boom
	}
	h := &health{check: sequence()}
	p := retry.MustNew(retry.MaxTries(3))
	cc := loopback(t, h, grpc.WithChainUnaryInterceptor(grpcretry.UnaryClientInterceptor(p), inner))
	_, err := check(context.Background(), cc)
	if !errors.Is(err, boom) || !errors.Is(err, retry.ErrPermanent) || status.Code(err) != codes.Unknown {
		t.Errorf("err = %v (code %v), want permanent, Unknown, matching the inner error", err, status.Code(err))
	}
}

func TestAttemptMetadata(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []grpcretry.Option
		key  string
		want []string
	}{
		{"default", nil, "x-retry-attempt", []string{"", "1", "2"}},
		{"custom", []grpcretry.Option{grpcretry.AttemptMetadata("attempts.before")}, "attempts.before", []string{"", "1", "2"}},
		{"off", []grpcretry.Option{grpcretry.AttemptMetadata("")}, "x-retry-attempt", []string{"", "", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &health{check: sequence(fail(codes.Unavailable, "a"), fail(codes.Unavailable, "b"))}
			p := retry.MustNew(retry.MaxTries(3))
			cc := loopback(t, h, grpc.WithUnaryInterceptor(grpcretry.UnaryClientInterceptor(p, tc.opts...)))
			ctx := metadata.AppendToOutgoingContext(context.Background(), "tenant", "acme")
			if _, err := check(ctx, cc); err != nil {
				t.Fatal(err)
			}
			if got := h.attemptHeaders(tc.key); !slices.Equal(got, tc.want) {
				t.Errorf("%s per call: %q, want %q", tc.key, got, tc.want)
			}
			if got := h.attemptHeaders("tenant"); !slices.Equal(got, []string{"acme", "acme", "acme"}) {
				t.Errorf("the caller's metadata per call: %q", got)
			}
			if got := h.attemptHeaders("grpc-previous-rpc-attempts"); !slices.Equal(got, []string{"", "", ""}) {
				t.Errorf("grpc-previous-rpc-attempts per call: %q, want none (gRPC's own)", got)
			}
		})
	}
}

// TestOperationName: the policy's Name, else the full method.
func TestOperationName(t *testing.T) {
	var mu sync.Mutex
	var names []string
	record := retry.Hooks(hooks.Hooks{OnStart: func(_ context.Context, c hooks.Call) context.Context {
		mu.Lock()
		names = append(names, c.Name)
		mu.Unlock()
		return nil
	}})
	h := &health{check: sequence(), watch: func(_ int, s grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
		return s.Send(serving)
	}}
	unnamed := retry.MustNew(record)
	named := retry.MustNew(record, retry.Name("health"))
	for _, tc := range []struct {
		p          *retry.Policy
		check, wat string
	}{
		{unnamed, checkMethod, watchMethod},
		{named, "health", "health"},
	} {
		names = nil
		cc := loopback(t, h, grpc.WithUnaryInterceptor(grpcretry.UnaryClientInterceptor(tc.p)),
			grpc.WithStreamInterceptor(grpcretry.StreamClientInterceptor(tc.p)))
		for range 2 {
			if _, err := check(context.Background(), cc); err != nil {
				t.Fatal(err)
			}
		}
		w, err := healthpb.NewHealthClient(cc).Watch(context.Background(), &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Recv(); err != nil {
			t.Fatal(err)
		}
		if want := []string{tc.check, tc.check, tc.wat}; !slices.Equal(names, want) {
			t.Errorf("names %q, want %q", names, want)
		}
		if tc.p.Name() != "" && tc.p.Name() != "health" {
			t.Errorf("the interceptor renamed the caller's policy: %q", tc.p.Name())
		}
	}
	if unnamed.Name() != "" {
		t.Errorf("the interceptor renamed the caller's policy: %q", unnamed.Name())
	}
}

// TestUnaryAllocs counts what the interceptor adds to a first-try success, with an
// invoker that does nothing: the transport's own allocations are not ours.
func TestUnaryAllocs(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    *retry.Policy
		ctx  context.Context
		max  float64
	}{
		{"unnamed policy", retry.MustNew(retry.MaxTries(3)), context.Background(), 1},
		{"named policy", retry.MustNew(retry.MaxTries(3), retry.Name("check")), context.Background(), 1},
		{"caller deadline", retry.MustNew(retry.MaxTries(3)), deadlineCtx(t), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			icpt := grpcretry.UnaryClientInterceptor(tc.p)
			invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
			req, reply := &healthpb.HealthCheckRequest{}, &healthpb.HealthCheckResponse{}
			// The caller's options, as gRPC hands them over: a slice it has already built.
			opts := []grpc.CallOption{grpc.WaitForReady(true)}
			got := testing.AllocsPerRun(1000, func() {
				if err := icpt(tc.ctx, checkMethod, req, reply, nil, invoker, opts...); err != nil {
					t.Fatal(err)
				}
			})
			if got > tc.max {
				t.Errorf("%v allocations per call, want at most %v", got, tc.max)
			}
		})
	}
}

func deadlineCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	t.Cleanup(cancel)
	return ctx
}

func TestBadInput(t *testing.T) {
	p := retry.MustNew()
	for _, tc := range []struct {
		name string
		f    func()
		want string
	}{
		{"unary nil policy", func() { grpcretry.UnaryClientInterceptor(nil) }, "UnaryClientInterceptor called with a nil *retry.Policy"},
		{"stream nil policy", func() { grpcretry.StreamClientInterceptor(nil) }, "StreamClientInterceptor called with a nil *retry.Policy"},
		{"Codes(OK)", func() { grpcretry.UnaryClientInterceptor(p, grpcretry.Codes(codes.OK)) }, "Codes(OK): OK is not a failure"},
		{"Codes(Unavailable, OK)", func() { grpcretry.StreamClientInterceptor(p, grpcretry.Codes(codes.Unavailable, codes.OK)) }, "StreamClientInterceptor: Codes(Unavailable, OK)"},
		{"Codes(99)", func() { grpcretry.UnaryClientInterceptor(p, grpcretry.Codes(99)) }, "99 is not a gRPC status code"},
		{"reserved key", func() { grpcretry.UnaryClientInterceptor(p, grpcretry.AttemptMetadata("grpc-previous-rpc-attempts")) }, `AttemptMetadata("grpc-previous-rpc-attempts"): keys starting with "grpc-" are reserved`},
		{"binary key", func() { grpcretry.UnaryClientInterceptor(p, grpcretry.AttemptMetadata("attempt-bin")) }, `AttemptMetadata("attempt-bin")`},
		{"upper case key", func() { grpcretry.UnaryClientInterceptor(p, grpcretry.AttemptMetadata("X-Retry")) }, `AttemptMetadata("X-Retry"): 'X' is not allowed`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				s, _ := r.(string)
				if !strings.HasPrefix(s, "grpcretry: ") || !strings.Contains(s, tc.want) {
					t.Errorf("panic %v, want one containing %q", r, tc.want)
				}
			}()
			tc.f()
		})
	}
	// A nil option is ignored, as retry.New ignores one.
	grpcretry.UnaryClientInterceptor(p, nil)
}
