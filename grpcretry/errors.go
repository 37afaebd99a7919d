package grpcretry

import (
	"errors"

	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/retry"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// codeNames are the canonical names of the status codes, as the gRPC specification and
// OpenTelemetry's RPC conventions spell them ("CANCELLED" with two Ls).
var codeNames = [...]string{
	codes.OK:                 "OK",
	codes.Canceled:           "CANCELLED",
	codes.Unknown:            "UNKNOWN",
	codes.InvalidArgument:    "INVALID_ARGUMENT",
	codes.DeadlineExceeded:   "DEADLINE_EXCEEDED",
	codes.NotFound:           "NOT_FOUND",
	codes.AlreadyExists:      "ALREADY_EXISTS",
	codes.PermissionDenied:   "PERMISSION_DENIED",
	codes.ResourceExhausted:  "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION",
	codes.Aborted:            "ABORTED",
	codes.OutOfRange:         "OUT_OF_RANGE",
	codes.Unimplemented:      "UNIMPLEMENTED",
	codes.Internal:           "INTERNAL",
	codes.Unavailable:        "UNAVAILABLE",
	codes.DataLoss:           "DATA_LOSS",
	codes.Unauthenticated:    "UNAUTHENTICATED",
}

// codeName returns the canonical name of code; a code outside the specification (a
// server may send any number) is "UNKNOWN", as gRPC treats it.
func codeName(code codes.Code) string {
	if code < codes.Code(len(codeNames)) {
		return codeNames[code]
	}
	return codeNames[codes.Unknown]
}

// attemptError is a failed attempt as the engine and the hooks see it: the error the
// invoker or the stream returned, with its status at hand and a low-cardinality name
// for telemetry. Error and Unwrap keep it transparent: its message is gRPC's, and
// errors.Is/As find what the original error matches.
type attemptError struct {
	err error
	st  *status.Status
}

func newAttemptError(err error) *attemptError {
	return &attemptError{err: err, st: status.Convert(err)}
}

func (e *attemptError) Error() string { return e.err.Error() }
func (e *attemptError) Unwrap() error { return e.err }

// GRPCStatus returns the attempt's status, so that status.FromError and status.Code read
// it as they would the original error.
func (e *attemptError) GRPCStatus() *status.Status { return e.st }

// ErrorType returns the canonical name of the status code, e.g. "UNAVAILABLE": the
// error.type that otelretry and other OpenTelemetry instrumentations record.
func (e *attemptError) ErrorType() string { return codeName(e.st.Code()) }

// callError is the error the interceptors return when the policy ends a call without
// success. It carries the status of the call, so that status.Code and status.FromError
// work on it as on any gRPC error, and it unwraps to the engine's *retry.Error, so that
// errors.As finds that and errors.Is matches its sentinels (retry.ErrExhausted,
// retry.ErrPermanent, context.Canceled...) and the last attempt's error.
//
// The status is the last attempt's, code and message exactly as the server (or gRPC)
// sent them. When the call ended because the caller's context was canceled or a deadline
// passed while the last attempt had failed for another reason (during a pause, or because
// the next pause would have overrun the deadline), or before any attempt, the code is
// Canceled or DeadlineExceeded, as gRPC reports such calls, and the message is the
// *retry.Error's.
type callError struct {
	err *retry.Error
	st  *status.Status
}

func newError(err error) error {
	re, ok := errors.AsType[*retry.Error](err)
	if !ok {
		return err // the engine returns nil or a *retry.Error: nothing to add to anything else
	}
	return &callError{err: re, st: callStatus(re)}
}

// callStatus chooses the status of a failed call, as Error documents.
func callStatus(re *retry.Error) *status.Status {
	var last *status.Status
	if re.Last != nil {
		if ae, ok := errors.AsType[*attemptError](re.Last); ok {
			last = ae.st
		} else {
			last = status.Convert(re.Last)
		}
	}
	var want codes.Code
	switch re.Outcome {
	case hooks.Canceled:
		want = codes.Canceled
	case hooks.Deadline:
		want = codes.DeadlineExceeded
	default:
		return last
	}
	if last != nil && last.Code() == want {
		return last
	}
	return status.New(want, re.Error())
}

func (e *callError) Error() string { return e.err.Error() }

// Unwrap returns the *retry.Error of the call.
func (e *callError) Unwrap() error { return e.err }

// GRPCStatus returns the call's status.
func (e *callError) GRPCStatus() *status.Status { return e.st }

// ErrorType returns the canonical name of the call's status code, e.g. "UNAVAILABLE".
func (e *callError) ErrorType() string { return codeName(e.st.Code()) }
