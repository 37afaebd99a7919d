package retryhttp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// attemptKey is the context key of the attempt number.
type attemptKey struct{}

// Attempt returns the 1-based number of the attempt whose request carries ctx, for the
// RoundTripper a Transport sends its attempts to (next) and anything below it: 1 for the
// first attempt, 2 for the first resend. It returns 0 for a context that did not come
// from a Transport.
func Attempt(ctx context.Context) int {
	n, _ := ctx.Value(attemptKey{}).(int)
	return n
}

// idempotent reports whether req may be sent more than once (RFC 9110, section 9.2.2): its
// method is idempotent, or it carries an idempotency key, which tells the server to apply
// it once however often it arrives. net/http's own replay of requests on a broken
// keep-alive connection follows the same rule.
func idempotent(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	if _, ok := req.Header["Idempotency-Key"]; ok {
		return true
	}
	_, ok := req.Header["X-Idempotency-Key"]
	return ok
}

// rewindable reports whether a resend can have the request's body: there is none, or
// GetBody makes a fresh one.
func rewindable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// permanentError reports whether err, the error of sending req, is one that no resend
// can fix: a certificate that does not verify, or a request that the transport refuses
// before sending it. It looks at types and at the request, never at the error's text.
func permanentError(req *http.Request, err error) bool {
	var (
		verify    *tls.CertificateVerificationError
		authority x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
	)
	if errors.As(err, &verify) || errors.As(err, &authority) || errors.As(err, &hostname) || errors.As(err, &invalid) {
		return true
	}
	return !sendable(req)
}

// sendable reports whether net/http would send req at all: a URL with an http or https
// scheme and a host, a valid method, valid header names and values.
func sendable(req *http.Request) bool {
	u := req.URL
	if u == nil || u.Host == "" {
		return false
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return false
	}
	if req.Method != "" && !validToken(req.Method) {
		return false
	}
	for name, values := range req.Header {
		if !validToken(name) {
			return false
		}
		for _, v := range values {
			if !validHeaderValue(v) {
				return false
			}
		}
	}
	return true
}

// validHeaderName reports whether name is a header field name (an RFC 9110 token).
func validHeaderName(name string) bool { return validToken(name) }

// validToken reports whether s is an RFC 9110 token: one or more tchar.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue reports whether v has no control character but horizontal tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// redactError hides the query and userinfo of a URL that an error of next shows (a
// *url.Error in its chain, as an http.Client used as a RoundTripper returns): the result
// reads "<op> <url without them>: <cause>" and unwraps to err, so errors.Is and
// errors.As see the original chain.
func redactError(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) || ue.Err == nil {
		return err
	}
	u, perr := url.Parse(ue.URL)
	if perr != nil {
		u = nil
	}
	return &redacted{err: err, msg: ue.Op + " " + redactURL(u) + ": " + ue.Err.Error()}
}

// redacted is an error with the URL in its message redacted.
type redacted struct {
	err error
	msg string
}

func (e *redacted) Error() string { return e.msg }
func (e *redacted) Unwrap() error { return e.err }

// ErrorType is that of the error it stands for.
func (e *redacted) ErrorType() string { return errorType(e.err) }
