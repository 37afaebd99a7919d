package retryhttp

import (
	"errors"
	"fmt"
)

// errorType names err, an error one of the package's wrappers stands for, for telemetry
// (OpenTelemetry's error.type): the ErrorType of an error in its chain if one has the
// method, else err's type, as if it had not been wrapped, so that no unexported wrapper
// of this package shows.
func errorType(err error) string {
	if et, ok := errors.AsType[interface {
		error
		ErrorType() string
	}](err); ok {
		return et.ErrorType()
	}
	return fmt.Sprintf("%T", err)
}
