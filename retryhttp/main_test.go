package retryhttp

import (
	"testing"

	"go.uber.org/goleak"
)

// The package starts no goroutine; the tests' fake transports must leave none either.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
