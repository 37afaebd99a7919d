package otelretry

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/retrykit/retrykit/retryhttp"
)

// ResendCountKey is the OpenTelemetry HTTP semantic conventions' count of earlier
// attempts of a request, set by ResendCount on the CLIENT span of every resend.
const ResendCountKey = attribute.Key("http.request.resend_count")

// ResendCount returns an http.RoundTripper that sets http.request.resend_count
// (retryhttp.Attempt - 1) on the span of the request's context, for resends only, then
// sends the request with next (http.DefaultTransport if nil). It belongs inside
// otelhttp's Transport, whose CLIENT span is then the one in the context, and under a
// retryhttp.Transport, which numbers the attempts:
//
//	retryhttp.NewTransport(otelhttp.NewTransport(otelretry.ResendCount(http.DefaultTransport)), policy)
//
// Each attempt is then one CLIENT span, under its attempt span when the policy has
// otelretry's Hooks, and every resend says which one it is.
func ResendCount(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &resendCount{next: next}
}

type resendCount struct{ next http.RoundTripper }

func (r *resendCount) RoundTrip(req *http.Request) (*http.Response, error) {
	if n := retryhttp.Attempt(req.Context()); n > 1 {
		if span := trace.SpanFromContext(req.Context()); span.IsRecording() {
			span.SetAttributes(ResendCountKey.Int(n - 1))
		}
	}
	return r.next.RoundTrip(req)
}

// CloseIdleConnections closes next's idle connections, if it has such a method, so that
// http.Client.CloseIdleConnections reaches the transport below.
func (r *resendCount) CloseIdleConnections() {
	if c, ok := r.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
