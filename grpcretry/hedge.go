package grpcretry

import (
	"context"
	"errors"
	"reflect"
	"sync"

	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/proto"
)

// numberKey is the context key of a hedged attempt's number.
type numberKey struct{}

// numberAttempts is the hook of a hedging policy that hands every attempt its number:
// the attempts of a hedged call run at the same time, so each reads its number from its
// context, where the engine's count put it, the one the other hooks see.
var numberAttempts = hooks.Hooks{
	OnAttempt: func(ctx context.Context, a hooks.Attempt) context.Context {
		return context.WithValue(ctx, numberKey{}, a.Number)
	},
}

// hedging returns p with the hook that numbers hedged attempts.
func hedging(p *retry.Policy) *retry.Policy {
	q, err := p.With(retry.Hooks(numberAttempts))
	if err != nil {
		panic("grpcretry: " + err.Error()) // Hooks never fails
	}
	return q
}

// withoutHedge returns p without its hedge option, for the calls that are not hedged.
func withoutHedge(p *retry.Policy) *retry.Policy {
	q, err := p.With(retry.NoHedge())
	if err != nil {
		panic("grpcretry: " + err.Error()) // NoHedge never fails
	}
	return q
}

// hedgedAttempt is one attempt of a hedged unary call: it writes into a reply message,
// header, trailer and peer of its own, and the call hands those of the attempt it ends
// on to the caller.
type hedgedAttempt struct {
	reply   any
	header  metadata.MD
	trailer metadata.MD
	peer    peer.Peer
	err     *attemptError // why it failed, if it did
	buf     [6]grpc.CallOption
}

// hedgedCall is a hedged unary call: its arguments and the attempts that ended.
type hedgedCall struct {
	c        *config
	method   string
	req      any
	reply    any
	cc       *grpc.ClientConn
	invoker  grpc.UnaryInvoker
	callOpts []grpc.CallOption

	mu       sync.Mutex
	ended    []*hedgedAttempt
	endedBuf [2]*hedgedAttempt
}

// hedgeUnary runs a unary call under p, a hedging policy: attempts may run at the same
// time, so none writes into the caller's reply; the first to succeed is copied into it.
func (c *config) hedgeUnary(ctx context.Context, p *retry.Policy, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts []grpc.CallOption) error {
	hc := &hedgedCall{c: c, method: method, req: req, reply: reply, cc: cc, invoker: invoker, callOpts: callOpts}
	hc.ended = hc.endedBuf[:0]
	win, err := retry.HedgeValue(ctx, p, hc.attempt)
	if err != nil {
		// The caller's header and trailer options get those of the attempt whose error
		// is the call's, as without hedging.
		if re, ok := errors.AsType[*retry.Error](err); ok {
			if ae, ok := errors.AsType[*attemptError](re.Last); ok {
				for _, a := range hc.ended {
					if a.err == ae {
						a.deliver(callOpts)
					}
				}
			}
		}
		return newError(err)
	}
	copyReply(reply, win.reply)
	win.deliver(callOpts)
	return nil
}

// attempt is one attempt of a hedged call, perhaps at the same time as others.
func (hc *hedgedCall) attempt(actx context.Context) (*hedgedAttempt, error) {
	n, _ := actx.Value(numberKey{}).(int)
	a := &hedgedAttempt{reply: newReply(hc.reply)}
	err := hc.invoker(hc.c.withAttempt(actx, n), hc.method, hc.req, a.reply, hc.cc, a.with(hc.callOpts)...)
	if err != nil {
		err = hc.c.judge(actx, err, a.trailer)
		a.err, _ = errors.AsType[*attemptError](err)
	}
	hc.mu.Lock()
	hc.ended = append(hc.ended, a)
	hc.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return a, nil
}

// with returns the caller's call options with those that write into the caller's
// variables (grpc.Header, grpc.Trailer, grpc.Peer) replaced by the attempt's own. The
// trailer is always asked for: it may carry the server's pushback.
func (a *hedgedAttempt) with(callOpts []grpc.CallOption) []grpc.CallOption {
	opts := a.buf[:0]
	header, peer := false, false
	for _, o := range callOpts {
		switch o.(type) {
		case grpc.HeaderCallOption:
			header = true
			continue
		case grpc.PeerCallOption:
			peer = true
			continue
		case grpc.TrailerCallOption:
			continue
		}
		opts = append(opts, o)
	}
	if header {
		opts = append(opts, grpc.Header(&a.header))
	}
	if peer {
		opts = append(opts, grpc.Peer(&a.peer))
	}
	return append(opts, grpc.Trailer(&a.trailer))
}

// deliver writes the attempt's header, trailer and peer where the caller's call options
// ask for them.
func (a *hedgedAttempt) deliver(callOpts []grpc.CallOption) {
	for _, o := range callOpts {
		switch o := o.(type) {
		case grpc.HeaderCallOption:
			*o.HeaderAddr = a.header
		case grpc.TrailerCallOption:
			*o.TrailerAddr = a.trailer
		case grpc.PeerCallOption:
			*o.PeerAddr = a.peer
		}
	}
}

// newReply returns an empty message of reply's type for one attempt: a new message for
// a protocol buffer, a new value of the type pointed to for another codec's pointer,
// reply itself for anything else (nothing can be written into it).
func newReply(reply any) any {
	rv := reflect.ValueOf(reply)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return reply
	}
	if m, ok := reply.(proto.Message); ok {
		return m.ProtoReflect().New().Interface()
	}
	return reflect.New(rv.Type().Elem()).Interface()
}

// copyReply makes the caller's reply the winning attempt's: for a protocol buffer,
// exactly the message the server sent, as gRPC's own unmarshaling leaves it (reset,
// then merged: a message is never copied as a struct).
func copyReply(reply, won any) {
	if reply == won {
		return
	}
	if m, ok := reply.(proto.Message); ok {
		proto.Reset(m)
		proto.Merge(m, won.(proto.Message))
		return
	}
	reflect.ValueOf(reply).Elem().Set(reflect.ValueOf(won).Elem())
}
