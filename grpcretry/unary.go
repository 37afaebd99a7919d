package grpcretry

import (
	"context"
	"strconv"

	"github.com/retrykit/retrykit/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// UnaryClientInterceptor returns an interceptor that runs every unary call under p: each
// attempt is one call of the next invoker with the attempt's context, and a failed
// attempt is retried when its status code is retryable (see Codes) and p allows another
// attempt. When p hedges, attempts may overlap: each writes into a reply of its own, and
// the first success is copied into reply. See the package documentation for the rules.
//
// It panics if p is nil or an option is invalid, naming the option.
func UnaryClientInterceptor(p *retry.Policy, opts ...Option) grpc.UnaryClientInterceptor {
	if p == nil {
		panic("grpcretry: UnaryClientInterceptor called with a nil *retry.Policy (build one with retry.New)")
	}
	c := newConfig("UnaryClientInterceptor", opts)
	hedged := p.Hedges()
	if hedged {
		p = hedging(p)
	}
	ps := newPolicies(p)
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
		if hedged {
			return c.hedgeUnary(ctx, ps.get(method), method, req, reply, cc, invoker, callOpts)
		}
		attempts := 0
		err := ps.get(method).Do(ctx, func(actx context.Context) error {
			attempts++
			ictx := c.withAttempt(actx, attempts)
			ao := new(attemptOpts)
			err := invoker(ictx, method, req, reply, cc, ao.with(callOpts)...)
			if err == nil {
				return nil
			}
			return c.judge(actx, err, ao.trailer)
		})
		if err != nil {
			return newError(err)
		}
		return nil
	}
}

// withAttempt adds the count of previous attempts to the outgoing metadata of a resend.
func (c *config) withAttempt(ctx context.Context, attempt int) context.Context {
	if attempt <= 1 || c.attemptKey == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, c.attemptKey, strconv.Itoa(attempt-1))
}

// attemptOpts holds what one attempt adds to the caller's call options: the trailer
// option that reads the server's pushback. The caller's options are copied, never
// appended to in place; up to three of them fit in buf, so the common attempt makes one
// allocation for all of this.
type attemptOpts struct {
	trailer metadata.MD
	buf     [4]grpc.CallOption
}

func (a *attemptOpts) with(callOpts []grpc.CallOption) []grpc.CallOption {
	opts := append(a.buf[:0], callOpts...)
	return append(opts, grpc.Trailer(&a.trailer))
}
