package grpcretry

import (
	"context"
	"io"
	"sync"
	"sync/atomic"

	"github.com/retrykit/retrykit/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// StreamClientInterceptor returns an interceptor that runs streams under p.
//
// A stream whose client sends one message (server streaming, desc.ServerStreams &&
// !desc.ClientStreams) is retried until its first response message has arrived: the
// interceptor keeps the request the application sends, and the attempts run in the
// application's first RecvMsg, which then returns that first message as if there had
// been a single attempt. From then on the stream is committed: its messages and its
// error reach the application as they are, bounded by the caller's context and p's
// Deadline. An application that reads Header before the first message commits the
// stream once the header has arrived, gRPC's own commit rule.
//
// Client and bidirectional streams are passed through: one attempt, made under p all
// the same so that its hooks (spans, metrics) see it, with p's Deadline bounding the
// whole stream.
//
// Streams are never hedged: under a policy with a hedge option they are retried as under
// the same policy without it.
//
// It panics if p is nil or an option is invalid, naming the option.
func StreamClientInterceptor(p *retry.Policy, opts ...Option) grpc.StreamClientInterceptor {
	if p == nil {
		panic("grpcretry: StreamClientInterceptor called with a nil *retry.Policy (build one with retry.New)")
	}
	c := newConfig("StreamClientInterceptor", opts)
	if p.Hedges() {
		p = withoutHedge(p) // streams are retried, never hedged
	}
	ps := newPolicies(p)
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, callOpts ...grpc.CallOption) (grpc.ClientStream, error) {
		pol := ps.get(method)
		callCtx, callCancel := pol.CallContext(ctx)
		if desc.ClientStreams {
			return passThrough(pol, callCtx, callCancel, desc, cc, method, streamer, callOpts)
		}
		return &serverStream{
			c: c, p: pol, desc: desc, cc: cc, method: method, streamer: streamer, opts: callOpts,
			callCtx: callCtx, callCancel: callCancel,
		}, nil
	}
}

// streamContext returns the context of an attempt's stream: it keeps the values of
// actx (the attempt's span) and the call's deadline, which gRPC propagates to the
// server, but not actx's cancellation: the engine cancels actx when the attempt ends,
// and a stream that succeeded must live on. Until the stream is committed, an AfterFunc
// carries actx's end (its timeout, the caller's cancellation) to the stream.
func streamContext(actx, callCtx context.Context) (context.Context, context.CancelFunc) {
	base := context.WithoutCancel(actx)
	if dl, ok := callCtx.Deadline(); ok {
		return context.WithDeadline(base, dl)
	}
	return context.WithCancel(base)
}

// binding ties a committed stream's context to the call: the caller's context and the
// policy's Deadline end it, and release frees it all once the stream has ended.
type binding struct {
	once       sync.Once
	stop       func() bool // the AfterFunc that cancels the stream when the call's context ends
	cancel     context.CancelFunc
	callCancel context.CancelFunc
}

// bind moves a stream whose attempt succeeded from the attempt's context to the call's.
// It returns false, having canceled the stream, when the attempt's context ended first
// (the stream may then already be canceled): the attempt counts as failed.
func (b *binding) bind(stopAttempt func() bool, callCtx context.Context, cancel, callCancel context.CancelFunc) bool {
	if !stopAttempt() {
		cancel()
		return false
	}
	b.cancel, b.callCancel = cancel, callCancel
	_, hasDL := callCtx.Deadline()
	b.stop = context.AfterFunc(callCtx, func() {
		if hasDL && callCtx.Err() == context.DeadlineExceeded {
			// The stream's context has the same deadline and ends by itself, with the
			// error that makes gRPC report DeadlineExceeded rather than Canceled.
			return
		}
		cancel()
	})
	return true
}

func (b *binding) release() {
	b.once.Do(func() {
		if b.stop != nil {
			b.stop()
			b.cancel()
		}
		b.callCancel()
	})
}

// contextEnded is the error of an attempt whose context ended just as it succeeded.
func contextEnded(actx context.Context) error {
	return status.FromContextError(actx.Err()).Err()
}

// passThrough makes the one attempt of a client or bidirectional stream.
func passThrough(p *retry.Policy, callCtx context.Context, callCancel context.CancelFunc, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts []grpc.CallOption) (grpc.ClientStream, error) {
	out := &boundStream{}
	err := p.Do(callCtx, func(actx context.Context) error {
		sctx, cancel := streamContext(actx, callCtx)
		stop := context.AfterFunc(actx, cancel)
		cs, err := streamer(sctx, desc, cc, method, opts...)
		if err != nil {
			stop()
			cancel()
			// The application's messages cannot be replayed: never a second attempt.
			return retry.Permanent(newAttemptError(err))
		}
		if !out.bind(stop, callCtx, cancel, callCancel) {
			return retry.Permanent(newAttemptError(contextEnded(actx)))
		}
		out.ClientStream = cs
		return nil
	})
	if err != nil {
		callCancel()
		return nil, newError(err)
	}
	return out, nil
}

// boundStream is a committed stream that releases its contexts when it ends.
type boundStream struct {
	grpc.ClientStream
	binding
}

func (s *boundStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		s.release()
	}
	return err
}

func (s *boundStream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	if err != nil && err != io.EOF {
		// Any error but io.EOF (whose status RecvMsg reports) ends the stream.
		s.release()
	}
	return err
}

func (s *boundStream) Header() (metadata.MD, error) {
	h, err := s.ClientStream.Header()
	if err != nil {
		s.release()
	}
	return h, err
}

// serverStream is a stream whose client sends one message, retried until its first
// response message.
type serverStream struct {
	c        *config
	p        *retry.Policy
	desc     *grpc.StreamDesc
	cc       *grpc.ClientConn
	method   string
	streamer grpc.Streamer
	opts     []grpc.CallOption

	callCtx    context.Context
	callCancel context.CancelFunc

	mu        sync.Mutex // guards what follows until started, and the attempts
	req       any
	hasReq    bool
	closeSent bool
	started   bool

	// Set by the attempts, read-only after them.
	cs      grpc.ClientStream // the committed stream; nil when the call failed
	err     error             // why the call failed
	eof     bool              // the committed stream ended without a message
	trailer metadata.MD       // the last failed attempt's trailer
	binding

	// committed is cs for Context, which must not wait for the attempts.
	committed atomic.Pointer[grpc.ClientStream]
}

// start makes the attempts, once, with m the application's first message (nil: commit
// at the header). It reports whether this call made them; when it returns, the outcome
// (cs, err, eof) is set whoever made them.
func (s *serverStream) start(m any) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return false
	}
	s.started = true
	attempts := 0
	err := s.p.Do(s.callCtx, func(actx context.Context) error {
		attempts++
		return s.attempt(actx, m, attempts)
	})
	if err != nil {
		s.err = newError(err)
		s.callCancel()
	}
	return true
}

// attempt makes one attempt: a new stream, the request replayed, then the first message
// (or the header).
func (s *serverStream) attempt(actx context.Context, m any, n int) error {
	sctx, cancel := streamContext(actx, s.callCtx)
	stop := context.AfterFunc(actx, cancel)
	cs, err := s.streamer(s.c.withAttempt(sctx, n), s.desc, s.cc, s.method, s.opts...)
	if err == nil {
		err = s.replay(cs)
	}
	eof := false
	if err == nil {
		if m != nil {
			err = cs.RecvMsg(m)
			if err == io.EOF {
				// The server ended the stream with OK and no message: a success.
				eof, err = true, nil
			}
		} else {
			_, err = cs.Header()
		}
	}
	if err != nil {
		var trailer metadata.MD
		if cs != nil {
			trailer = cs.Trailer()
		}
		stop()
		cancel()
		s.trailer = trailer
		return s.c.judge(actx, err, trailer)
	}
	if !s.bind(stop, s.callCtx, cancel, s.callCancel) {
		return s.c.judge(actx, contextEnded(actx), nil)
	}
	s.cs, s.eof = cs, eof
	s.committed.Store(&cs)
	return nil
}

// replay sends what the application sent before the attempts started.
func (s *serverStream) replay(cs grpc.ClientStream) error {
	if s.hasReq {
		if err := cs.SendMsg(s.req); err != nil {
			if err == io.EOF {
				return nil // the stream has ended: RecvMsg reports its status
			}
			return err
		}
	}
	if s.closeSent {
		return cs.CloseSend()
	}
	return nil
}

func (s *serverStream) SendMsg(m any) error {
	s.mu.Lock()
	if !s.started {
		defer s.mu.Unlock()
		if s.hasReq || s.closeSent {
			// What gRPC answers to a second message on a stream whose client sends one.
			return status.Error(codes.Internal, "SendMsg called after CloseSend")
		}
		s.req, s.hasReq = m, true
		return nil
	}
	s.mu.Unlock()
	if s.cs == nil {
		return io.EOF // the call failed: RecvMsg reports why
	}
	return s.cs.SendMsg(m)
}

func (s *serverStream) CloseSend() error {
	s.mu.Lock()
	if !s.started {
		s.closeSent = true
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	if s.cs == nil {
		return nil
	}
	return s.cs.CloseSend()
}

func (s *serverStream) RecvMsg(m any) error {
	if s.start(m) {
		if s.err != nil {
			return s.err
		}
		if !s.eof {
			return nil // m holds the first message
		}
	}
	if s.cs == nil {
		return s.err
	}
	if s.eof {
		// A stream that ended with OK and no message.
		s.release()
		return io.EOF
	}
	err := s.cs.RecvMsg(m)
	if err != nil {
		s.release()
	}
	return err
}

func (s *serverStream) Header() (metadata.MD, error) {
	s.start(nil)
	if s.cs == nil {
		return nil, s.err
	}
	h, err := s.cs.Header()
	if err != nil {
		s.release()
	}
	return h, err
}

func (s *serverStream) Trailer() metadata.MD {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cs != nil {
		return s.cs.Trailer()
	}
	return s.trailer
}

// Context returns the committed stream's context, and the call's until then: it does
// not wait for attempts under way.
func (s *serverStream) Context() context.Context {
	if cs := s.committed.Load(); cs != nil {
		return (*cs).Context()
	}
	return s.callCtx
}
