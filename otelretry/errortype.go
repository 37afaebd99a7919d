package otelretry

import (
	"context"
	"errors"
	"fmt"
	"reflect"
)

// defaultErrorType is the error.type that WithErrorType describes as the default. It
// walks the chain itself rather than through errors.As, which would move its target to
// the heap on every failed attempt.
func defaultErrorType(err error) string {
	if err == nil {
		return ErrorTypeOther
	}
	if s := findErrorType(err); s != "" {
		return s
	}
	if anyInChain(err, isTimeout) {
		return ErrorTypeTimeout
	}
	if errors.Is(err, context.Canceled) {
		return "canceled"
	}
	// reflect.Type.String reads the name from the binary's type data: no allocation.
	if s := reflect.TypeOf(unwrapFmtWrapped(err)).String(); s != "" {
		return s
	}
	return ErrorTypeOther
}

type errorTyper interface{ ErrorType() string }

// findErrorType returns the non-empty result of the first ErrorType method in err's
// chain, depth first as errors.As searches, or "".
func findErrorType(err error) string {
	for err != nil {
		if et, ok := err.(errorTyper); ok {
			if s := et.ErrorType(); s != "" {
				return s
			}
		}
		switch x := err.(type) {
		case interface{ Unwrap() error }:
			err = x.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range x.Unwrap() {
				if s := findErrorType(e); s != "" {
					return s
				}
			}
			return ""
		default:
			return ""
		}
	}
	return ""
}

// anyInChain reports whether match holds for an error in err's chain.
func anyInChain(err error, match func(error) bool) bool {
	for err != nil {
		if match(err) {
			return true
		}
		switch x := err.(type) {
		case interface{ Unwrap() error }:
			err = x.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range x.Unwrap() {
				if anyInChain(e, match) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}

func isTimeout(err error) bool {
	t, ok := err.(interface{ Timeout() bool })
	return ok && t.Timeout()
}

var fmtWrapErrorType = reflect.TypeOf(fmt.Errorf("%w", errors.New("")))

// unwrapFmtWrapped skips the wrappers of fmt.Errorf("...: %w", err), whose type says
// nothing about the error.
func unwrapFmtWrapped(err error) error {
	for reflect.TypeOf(err) == fmtWrapErrorType {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
	return err
}
