package grpcretry_test

import (
	"context"
	"errors"
	"io"
	"slices"
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
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

type watchServer = grpc.ServerStreamingServer[healthpb.HealthCheckResponse]

func streams(p *retry.Policy, opts ...grpcretry.Option) []grpc.DialOption {
	return []grpc.DialOption{grpc.WithStreamInterceptor(grpcretry.StreamClientInterceptor(p, opts...))}
}

// watchAll reads a Watch stream to its end: the statuses received and the final error
// (nil for a clean end).
func watchAll(ctx context.Context, cc *grpc.ClientConn) ([]healthpb.HealthCheckResponse_ServingStatus, error) {
	w, err := healthpb.NewHealthClient(cc).Watch(ctx, &healthpb.HealthCheckRequest{Service: "svc"})
	if err != nil {
		return nil, err
	}
	var got []healthpb.HealthCheckResponse_ServingStatus
	for {
		m, err := w.Recv()
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		got = append(got, m.GetStatus())
	}
}

var (
	sv  = healthpb.HealthCheckResponse_SERVING
	nsv = healthpb.HealthCheckResponse_NOT_SERVING
)

func TestServerStreamRetriedBeforeFirstMessage(t *testing.T) {
	h := &health{watch: func(n int, s watchServer) error {
		if n <= 2 {
			return fail(codes.Unavailable, "not yet")
		}
		if err := s.Send(serving); err != nil {
			return err
		}
		return s.Send(notServing)
	}}
	p := retry.MustNew(retry.MaxTries(3))
	cc := loopback(t, h, streams(p)...)
	got, err := watchAll(context.Background(), cc)
	if err != nil || !slices.Equal(got, []healthpb.HealthCheckResponse_ServingStatus{sv, nsv}) {
		t.Errorf("the application saw %v, %v; want [SERVING NOT_SERVING] and a clean end", got, err)
	}
	if got := h.attemptHeaders("x-retry-attempt"); !slices.Equal(got, []string{"", "1", "2"}) {
		t.Errorf("x-retry-attempt per call: %q", got)
	}
}

func TestServerStreamNotRetriedAfterFirstMessage(t *testing.T) {
	h := &health{watch: func(n int, s watchServer) error {
		if err := s.Send(serving); err != nil {
			return err
		}
		return fail(codes.Unavailable, "gone")
	}}
	p := retry.MustNew(retry.MaxTries(3))
	cc := loopback(t, h, streams(p)...)
	got, err := watchAll(context.Background(), cc)
	if !slices.Equal(got, []healthpb.HealthCheckResponse_ServingStatus{sv}) {
		t.Errorf("the application saw %v, want [SERVING]", got)
	}
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unavailable || st.Message() != "gone" {
		t.Errorf("err = %v, want the server's Unavailable as it is", err)
	}
	if _, ok := errors.AsType[*retry.Error](err); ok {
		t.Errorf("err = %v: a committed stream's error must reach the application unchanged", err)
	}
	if h.calls() != 1 {
		t.Errorf("%d calls, want 1", h.calls())
	}
}

func TestServerStreamFailures(t *testing.T) {
	for _, tc := range []struct {
		name      string
		watch     func(n int, s watchServer) error
		wantCalls int
		wantCode  codes.Code
		wantMsg   string
		wantOut   hooks.Outcome
	}{
		{"not retryable", func(int, watchServer) error { return fail(codes.NotFound, "no such service") },
			1, codes.NotFound, "no such service", hooks.Permanent},
		{"exhausted", func(int, watchServer) error { return fail(codes.Unavailable, "down") },
			3, codes.Unavailable, "down", hooks.Exhausted},
		{"malformed pushback", func(_ int, s watchServer) error {
			s.SetTrailer(metadata.Pairs("grpc-retry-pushback-ms", "later"))
			return fail(codes.Unavailable, "down")
		}, 1, codes.Unavailable, "down", hooks.Permanent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &health{watch: tc.watch}
			cc := loopback(t, h, streams(retry.MustNew(retry.MaxTries(3)))...)
			w, err := healthpb.NewHealthClient(cc).Watch(context.Background(), &healthpb.HealthCheckRequest{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = w.Recv()
			st, _ := status.FromError(err)
			if st.Code() != tc.wantCode || st.Message() != tc.wantMsg {
				t.Errorf("Recv: %v, want %v %q", err, tc.wantCode, tc.wantMsg)
			}
			if re, ok := errors.AsType[*retry.Error](err); !ok || re.Outcome != tc.wantOut {
				t.Errorf("Recv: %v, want outcome %v", err, tc.wantOut)
			}
			if h.calls() != tc.wantCalls {
				t.Errorf("%d calls, want %d", h.calls(), tc.wantCalls)
			}
			if _, again := w.Recv(); again != err {
				t.Errorf("a second Recv returned %v, want the same error", again)
			}
			if len(w.Trailer()["grpc-retry-pushback-ms"]) == 0 && tc.name == "malformed pushback" {
				t.Error("Trailer: want the last attempt's trailer")
			}
		})
	}
}

func TestServerStreamWithoutMessages(t *testing.T) {
	h := &health{watch: func(int, watchServer) error { return nil }}
	cc := loopback(t, h, streams(retry.MustNew(retry.MaxTries(3)))...)
	got, err := watchAll(context.Background(), cc)
	if err != nil || len(got) != 0 || h.calls() != 1 {
		t.Errorf("got %v, %v after %d calls; want an empty stream after 1", got, err, h.calls())
	}
}

// TestServerStreamTimes: a slow first message is retried under AttemptTimeout, the
// committed stream outlives its attempt, and the rest of the stream is bounded by the
// policy's Deadline and the caller's context.
func TestServerStreamTimes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		p        *retry.Policy
		cancelAt time.Duration // the caller cancels then; 0: never
		want     []healthpb.HealthCheckResponse_ServingStatus
		wantCode codes.Code
		wantTime time.Duration
		calls    int
	}{
		{"slow first message retried, stream outlives the attempt", retry.MustNew(retry.AttemptTimeout(time.Second)), 0,
			[]healthpb.HealthCheckResponse_ServingStatus{sv, nsv, sv}, codes.OK, 10 * time.Second, 2},
		{"policy deadline ends the committed stream", retry.MustNew(retry.AttemptTimeout(time.Second), retry.Deadline(3500*time.Millisecond)), 0,
			[]healthpb.HealthCheckResponse_ServingStatus{sv}, codes.DeadlineExceeded, 3500 * time.Millisecond, 2},
		{"caller cancels the committed stream", retry.MustNew(retry.AttemptTimeout(time.Second)), 5 * time.Second,
			[]healthpb.HealthCheckResponse_ServingStatus{sv, nsv}, codes.Canceled, 5 * time.Second, 2},
		{"caller cancels before the first message", retry.MustNew(retry.AttemptTimeout(time.Second)), 1500 * time.Millisecond,
			nil, codes.Canceled, 1500 * time.Millisecond, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &health{watch: func(n int, s watchServer) error {
				if n == 1 {
					// The first attempt's first message comes too late.
					select {
					case <-time.After(5 * time.Second):
					case <-s.Context().Done():
						return s.Context().Err()
					}
				}
				if n == 2 && tc.name == "caller cancels before the first message" {
					<-s.Context().Done()
					return s.Context().Err()
				}
				// From the second attempt's start, at 1s: messages at 1s, 4s and 7s, the end
				// at 10s.
				for _, m := range []*healthpb.HealthCheckResponse{serving, notServing, serving} {
					if err := s.Send(m); err != nil {
						return err
					}
					// Far longer than the attempt timeout between messages.
					select {
					case <-time.After(3 * time.Second):
					case <-s.Context().Done():
						return s.Context().Err()
					}
				}
				return nil
			}}
			bubble(t, h, streams(tc.p), func(t *testing.T, cc *grpc.ClientConn) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if tc.cancelAt > 0 {
					time.AfterFunc(tc.cancelAt, cancel)
				}
				start := time.Now()
				got, err := watchAll(ctx, cc)
				if elapsed := time.Since(start); elapsed != tc.wantTime {
					t.Errorf("the stream lasted %v, want %v", elapsed, tc.wantTime)
				}
				if !slices.Equal(got, tc.want) || status.Code(err) != tc.wantCode {
					t.Errorf("the application saw %v, %v; want %v, code %v", got, err, tc.want, tc.wantCode)
				}
				if h.calls() != tc.calls {
					t.Errorf("%d calls, want %d", h.calls(), tc.calls)
				}
			})
		})
	}
}

func TestServerStreamPushback(t *testing.T) {
	h := &health{watch: func(n int, s watchServer) error {
		if n == 1 {
			s.SetTrailer(metadata.Pairs("grpc-retry-pushback-ms", "300"))
			return fail(codes.Unavailable, "busy")
		}
		return s.Send(serving)
	}}
	bubble(t, h, streams(retry.MustNew(retry.MaxTries(2))), func(t *testing.T, cc *grpc.ClientConn) {
		start := time.Now()
		got, err := watchAll(context.Background(), cc)
		if elapsed := time.Since(start); elapsed != 300*time.Millisecond {
			t.Errorf("the call took %v, want the 300ms pushback", elapsed)
		}
		if err != nil || !slices.Equal(got, []healthpb.HealthCheckResponse_ServingStatus{sv}) {
			t.Errorf("got %v, %v", got, err)
		}
	})
}

// TestServerStreamHeaderFirst: reading the header first commits the stream at the
// header, gRPC's own rule; the first message is then delivered as usual.
func TestServerStreamHeaderFirst(t *testing.T) {
	h := &health{watch: func(n int, s watchServer) error {
		if n == 1 {
			return fail(codes.Unavailable, "trailers only")
		}
		if err := s.SendHeader(metadata.Pairs("served-by", "b")); err != nil {
			return err
		}
		return s.Send(serving)
	}}
	cc := loopback(t, h, streams(retry.MustNew(retry.MaxTries(3)))...)
	w, err := healthpb.NewHealthClient(cc).Watch(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	md, err := w.Header()
	if err != nil {
		t.Fatal(err)
	}
	// gRPC's Header reports a trailers-only failure as a nil header and no error: the
	// first attempt committed, and its failure reaches Recv.
	if md != nil {
		t.Errorf("header %v, want none from the first attempt", md)
	}
	if _, err := w.Recv(); status.Code(err) != codes.Unavailable {
		t.Errorf("Recv: %v, want the first attempt's Unavailable", err)
	}
	if h.calls() != 1 {
		t.Errorf("%d calls, want 1", h.calls())
	}
}

// TestServerStreamRequestReplayed: every attempt sends the application's request.
func TestServerStreamRequestReplayed(t *testing.T) {
	h := &health{watch: func(n int, s watchServer) error {
		if n < 3 {
			return fail(codes.Unavailable, "down")
		}
		return s.Send(serving)
	}}
	cc := loopback(t, h, streams(retry.MustNew(retry.MaxTries(3)))...)
	if _, err := watchAll(context.Background(), cc); err != nil {
		t.Fatal(err)
	}
	if got := h.requests(); !slices.Equal(got, []string{"svc", "svc", "svc"}) {
		t.Errorf("requests received: %q", got)
	}
}

func TestClientStreamPassedThrough(t *testing.T) {
	for _, tc := range []struct {
		name     string
		collect  func(grpc.ServerStream) error
		wantCode codes.Code
		wantN    int32 // the reply's status: the count of messages received
	}{
		{"success", func(s grpc.ServerStream) error {
			var n int32
			for {
				var req healthpb.HealthCheckRequest
				if err := s.RecvMsg(&req); err == io.EOF {
					break
				} else if err != nil {
					return err
				}
				n++
			}
			return s.SendMsg(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_ServingStatus(n)})
		}, codes.OK, 3},
		{"failure is not retried", func(s grpc.ServerStream) error {
			return fail(codes.Unavailable, "down")
		}, codes.Unavailable, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var attempts []int
			p := retry.MustNew(retry.MaxTries(5), retry.Hooks(hooks.Hooks{OnAttempt: func(ctx context.Context, a hooks.Attempt) context.Context {
				mu.Lock()
				attempts = append(attempts, a.Number)
				mu.Unlock()
				if a.Call.Name != collectMethod {
					t.Errorf("operation name %q", a.Call.Name)
				}
				return nil
			}}))
			h := &health{collect: tc.collect}
			cc := loopback(t, h, streams(p)...)
			s, err := cc.NewStream(context.Background(), &grpc.StreamDesc{ClientStreams: true}, collectMethod)
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				if err := s.SendMsg(&healthpb.HealthCheckRequest{}); err != nil && err != io.EOF {
					t.Fatal(err)
				}
			}
			if err := s.CloseSend(); err != nil {
				t.Fatal(err)
			}
			var resp healthpb.HealthCheckResponse
			err = s.RecvMsg(&resp)
			if status.Code(err) != tc.wantCode {
				t.Fatalf("RecvMsg: %v, want %v", err, tc.wantCode)
			}
			if err == nil && int32(resp.GetStatus()) != tc.wantN {
				t.Errorf("the server counted %d messages, want %d", resp.GetStatus(), tc.wantN)
			}
			if h.calls() != 1 || !slices.Equal(attempts, []int{1}) {
				t.Errorf("%d calls, attempts %v; want one", h.calls(), attempts)
			}
			if err == nil {
				if err := s.RecvMsg(&resp); err != io.EOF {
					t.Errorf("RecvMsg after the reply: %v, want io.EOF", err)
				}
			}
		})
	}
}

// TestClientStreamCreationFailure: a stream that cannot even start fails in NewStream,
// once, with the call's status.
func TestClientStreamCreationFailure(t *testing.T) {
	p := retry.MustNew(retry.MaxTries(5))
	// Nothing listens there: with WaitForReady off the stream fails at once.
	cc := dial(t, "127.0.0.1:1", streams(p)...)
	_, err := cc.NewStream(context.Background(), &grpc.StreamDesc{ClientStreams: true}, collectMethod)
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("NewStream: %v, want Unavailable", err)
	}
	if re, ok := errors.AsType[*retry.Error](err); !ok || re.Attempts != 1 || re.Outcome != hooks.Permanent {
		t.Errorf("NewStream: %+v, want one attempt", re)
	}
}

// TestServerStreamContext: Context answers at once, also while the attempts wait for
// the first message, and is the committed stream's afterwards (it carries the peer).
func TestServerStreamContext(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	h := &health{watch: func(n int, s watchServer) error {
		close(arrived)
		<-release
		return s.Send(serving)
	}}
	cc := loopback(t, h, streams(retry.MustNew(retry.MaxTries(3)))...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := healthpb.NewHealthClient(cc).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	received := make(chan error)
	go func() {
		_, err := w.Recv()
		received <- err
	}()
	<-arrived // the attempt waits for its first message
	if w.Context() == nil {
		t.Fatal("nil Context during the attempt")
	}
	close(release)
	if err := <-received; err != nil {
		t.Fatal(err)
	}
	if _, ok := peer.FromContext(w.Context()); !ok {
		t.Error("the committed stream's Context has no peer")
	}
}
