package grpcretry_test

import (
	"context"
	"sync"
	"sync/atomic"
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

// hedgeLog records what the hooks saw of hedged calls.
type hedgeLog struct {
	mu      sync.Mutex
	ends    []hooks.Attempt
	hedging []bool // hooks.Call.Hedging of every call
}

func (l *hedgeLog) hooks() retry.Option {
	return retry.Hooks(hooks.Hooks{
		OnStart: func(_ context.Context, c hooks.Call) context.Context {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.hedging = append(l.hedging, c.Hedging)
			return nil
		},
		OnAttemptEnd: func(_ context.Context, a hooks.Attempt) {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.ends = append(l.ends, a)
		},
	})
}

// TestUnaryHedge: a unary call whose first attempt is slow is hedged after the hedge
// delay; the hedge's reply, header and trailer reach the caller at once, and the slow
// attempt is canceled on the server.
func TestUnaryHedge(t *testing.T) {
	released := make(chan struct{})
	h := &health{check: func(ctx context.Context, n int) (*healthpb.HealthCheckResponse, error) {
		_ = grpc.SetHeader(ctx, metadata.Pairs("answer", string(rune('0'+n))))
		if n == 1 {
			defer close(released)
			return hang(ctx, n)
		}
		return withTrailerOK(ctx, "answer", "2")
	}}
	var log hedgeLog
	p := retry.MustNew(retry.MaxTries(3), retry.HedgeAfter(100*time.Millisecond), log.hooks())
	bubble(t, h, unary(p), func(t *testing.T, cc *grpc.ClientConn) {
		reply := &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_UNKNOWN}
		var header, trailer metadata.MD
		start := time.Now()
		err := cc.Invoke(context.Background(), checkMethod, &healthpb.HealthCheckRequest{Service: "svc"}, reply,
			grpc.Header(&header), grpc.Trailer(&trailer))
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 100*time.Millisecond {
			t.Errorf("the call took %v, want the hedge delay, 100ms", took)
		}
		if reply.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("reply %v, want the hedge's SERVING", reply)
		}
		if got := header.Get("answer"); len(got) != 1 || got[0] != "2" {
			t.Errorf("header answer = %q, want the hedge's [2]", got)
		}
		if got := trailer.Get("answer"); len(got) != 1 || got[0] != "2" {
			t.Errorf("trailer answer = %q, want the hedge's [2]", got)
		}
		<-released // the slow attempt's handler ends: its call was canceled
		if got := h.attemptHeaders(grpcretry.DefaultAttemptMetadata); len(got) != 2 || got[0] != "" || got[1] != "1" {
			t.Errorf("attempt metadata %q, want none then \"1\"", got)
		}
	})
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.ends) != 2 {
		t.Fatalf("%d OnAttemptEnd, want 2", len(log.ends))
	}
	for _, a := range log.ends {
		if want := a.Number == 2; a.Hedged != want || a.Superseded == want {
			t.Errorf("attempt %d: Hedged %v, Superseded %v", a.Number, a.Hedged, a.Superseded)
		}
	}
}

// withTrailerOK answers serving with trailer metadata kv.
func withTrailerOK(ctx context.Context, kv ...string) (*healthpb.HealthCheckResponse, error) {
	if err := grpc.SetTrailer(ctx, metadata.Pairs(kv...)); err != nil {
		return nil, err
	}
	return serving, nil
}

// TestUnaryHedgeLateLoser: an attempt that succeeds after another, before the engine
// canceled it, is dropped: it never writes into the caller's reply.
func TestUnaryHedgeLateLoser(t *testing.T) {
	h := &health{check: func(ctx context.Context, n int) (*healthpb.HealthCheckResponse, error) {
		if n == 1 {
			select {
			case <-time.After(150 * time.Millisecond):
				return notServing, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return serving, nil
	}}
	var lateReturned atomic.Bool
	// The hedge's end is reported to the hooks before the call ends: holding it there
	// lets the first attempt's answer arrive meanwhile.
	p := retry.MustNew(retry.MaxTries(2), retry.HedgeAfter(100*time.Millisecond), retry.Hooks(hooks.Hooks{
		OnAttemptEnd: func(_ context.Context, a hooks.Attempt) {
			switch {
			case a.Number == 2:
				time.Sleep(100 * time.Millisecond)
			case a.Superseded && a.Err == nil:
				lateReturned.Store(true)
			}
		},
	}))
	bubble(t, h, unary(p), func(t *testing.T, cc *grpc.ClientConn) {
		for range 3 {
			reply := new(healthpb.HealthCheckResponse)
			if err := cc.Invoke(context.Background(), checkMethod, &healthpb.HealthCheckRequest{}, reply); err != nil {
				t.Fatal(err)
			}
			if reply.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("reply %v, want the winner's SERVING", reply)
			}
			h.reset(h.check)
		}
	})
	if !lateReturned.Load() {
		t.Error("the first attempt never succeeded after the hedge: the test shows nothing")
	}
}

// TestUnaryHedgeFails: a hedged call that fails returns the status of the attempt that
// failed last, and the caller's trailer is that attempt's.
func TestUnaryHedgeFails(t *testing.T) {
	h := &health{check: func(ctx context.Context, n int) (*healthpb.HealthCheckResponse, error) {
		if n == 1 {
			time.Sleep(150 * time.Millisecond)
		} else {
			time.Sleep(200 * time.Millisecond)
		}
		return withTrailer(ctx, fail(codes.Unavailable, "down "+string(rune('0'+n))), "answer", string(rune('0'+n)))
	}}
	p := retry.MustNew(retry.MaxTries(2), retry.HedgeAfter(100*time.Millisecond))
	bubble(t, h, unary(p), func(t *testing.T, cc *grpc.ClientConn) {
		var trailer metadata.MD
		start := time.Now()
		_, err := check(context.Background(), cc, grpc.Trailer(&trailer))
		if took := time.Since(start); took != 300*time.Millisecond {
			t.Errorf("the call took %v, want 300ms", took)
		}
		if st := status.Convert(err); st.Code() != codes.Unavailable || st.Message() != "down 2" {
			t.Errorf("status %v, want the last failure's UNAVAILABLE \"down 2\"", st)
		}
		if got := trailer.Get("answer"); len(got) != 1 || got[0] != "2" {
			t.Errorf("trailer answer = %q, want the last attempt's [2]", got)
		}
	})
}

// TestStreamNotHedged: a server-streaming call under a hedging policy is retried, never
// hedged: its attempts would each need a stream of their own until the first message.
func TestStreamNotHedged(t *testing.T) {
	h := &health{watch: func(n int, s watchServer) error {
		if n == 1 {
			return fail(codes.Unavailable, "down")
		}
		select {
		case <-time.After(time.Second):
		case <-s.Context().Done():
			return s.Context().Err()
		}
		return s.Send(serving)
	}}
	var log hedgeLog
	p := retry.MustNew(retry.MaxTries(3), retry.HedgeAfter(100*time.Millisecond), log.hooks())
	bubble(t, h, streams(p), func(t *testing.T, cc *grpc.ClientConn) {
		start := time.Now()
		got, err := watchAll(context.Background(), cc)
		if err != nil || len(got) != 1 || got[0] != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("Watch = %v, %v", got, err)
		}
		if took, calls := time.Since(start), h.calls(); took != time.Second || calls != 2 {
			t.Errorf("%d calls in %v, want a retry and no hedge: 2 in 1s", calls, took)
		}
	})
	if len(log.hedging) != 1 || log.hedging[0] {
		t.Errorf("hooks.Call.Hedging = %v, want [false]", log.hedging)
	}
}

// TestUnaryHedgeConcurrent: many hedged calls at once on one interceptor, over
// loopback, half of whose first attempts get no answer; run with -race.
func TestUnaryHedgeConcurrent(t *testing.T) {
	var n atomic.Int64
	h := &health{check: func(ctx context.Context, _ int) (*healthpb.HealthCheckResponse, error) {
		if len(incoming(ctx, grpcretry.DefaultAttemptMetadata)) == 0 && n.Add(1)%2 == 0 {
			return hang(ctx, 0) // the hedge answers for it
		}
		return serving, nil
	}}
	p := retry.MustNew(retry.MaxTries(3), retry.HedgeAfter(5*time.Millisecond))
	cc := loopback(t, h, unary(p)...)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for range 8 {
				resp, err := check(context.Background(), cc)
				if err != nil {
					t.Error(err)
					return
				}
				if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
					t.Errorf("reply %v", resp)
				}
			}
		})
	}
	wg.Wait()
}
