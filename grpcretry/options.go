package grpcretry

import (
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
)

// DefaultAttemptMetadata is the metadata key under which resends carry the number of
// attempts made before them, unless AttemptMetadata says otherwise. It is the key
// go-grpc-middleware's retry interceptor uses, so servers that read it see the same
// values.
const DefaultAttemptMetadata = "x-retry-attempt"

// An Option configures an interceptor.
type Option interface {
	apply(*config) error
}

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

// config is what the options set. retryable is indexed by code: codes are small
// integers, so a lookup is an index, not a map access.
type config struct {
	retryable  [codes.Unauthenticated + 1]bool
	attemptKey string
}

func newConfig(who string, opts []Option) *config {
	c := &config{attemptKey: DefaultAttemptMetadata}
	c.retryable[codes.Unavailable] = true
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt.apply(c); err != nil {
			panic("grpcretry: " + who + ": " + err.Error())
		}
	}
	return c
}

// isRetryable reports whether code is one of the codes to retry.
func (c *config) isRetryable(code codes.Code) bool {
	return code < codes.Code(len(c.retryable)) && c.retryable[code]
}

// Codes sets the status codes that are retried, replacing the default, which is
// Unavailable alone. A code not listed ends the call at once (the engine's Permanent
// outcome), with one exception that needs no listing: a DeadlineExceeded caused by the
// attempt's own timeout (AttemptTimeout) is always retried. Codes() with no code retries
// nothing but those timeouts.
//
// codes.OK, or a value that is not a gRPC status code, makes the interceptor constructor
// panic with a message naming the option.
func Codes(cs ...codes.Code) Option {
	return optionFunc(func(c *config) error {
		var set [len(c.retryable)]bool
		for _, code := range cs {
			if code == codes.OK {
				return fmt.Errorf("Codes(%s): OK is not a failure and cannot be retried", codeList(cs))
			}
			if code >= codes.Code(len(set)) {
				return fmt.Errorf("Codes(%s): %d is not a gRPC status code", codeList(cs), uint32(code))
			}
			set[code] = true
		}
		c.retryable = set
		return nil
	})
}

func codeList(cs []codes.Code) string {
	var b strings.Builder
	for i, code := range cs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(code.String())
	}
	return b.String()
}

// AttemptMetadata sets the metadata key under which every resend carries, as a decimal
// string, the number of attempts made before it ("1" on the first retry); the first
// attempt carries none. The default is DefaultAttemptMetadata; "" sends nothing.
//
// The key must be valid gRPC metadata: lowercase letters, digits, '-', '_' and '.', not
// starting with "grpc-" (reserved to gRPC itself, which sends grpc-previous-rpc-attempts
// for its own retries) and not ending with "-bin" (the value is text). Another key makes
// the interceptor constructor panic with a message naming the option.
func AttemptMetadata(key string) Option {
	return optionFunc(func(c *config) error {
		if err := checkKey(key); err != nil {
			return fmt.Errorf("AttemptMetadata(%q): %w", key, err)
		}
		c.attemptKey = key
		return nil
	})
}

func checkKey(key string) error {
	if strings.HasPrefix(key, "grpc-") {
		return fmt.Errorf("keys starting with \"grpc-\" are reserved to gRPC")
	}
	if strings.HasSuffix(key, "-bin") {
		return fmt.Errorf("keys ending with \"-bin\" hold binary values, the attempt count is text")
	}
	for i := 0; i < len(key); i++ {
		switch ch := key[i]; {
		case 'a' <= ch && ch <= 'z', '0' <= ch && ch <= '9', ch == '-', ch == '_', ch == '.':
		default:
			return fmt.Errorf("%q is not allowed in a metadata key (lowercase letters, digits, '-', '_', '.')", ch)
		}
	}
	return nil
}
