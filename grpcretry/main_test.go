package grpcretry_test

import (
	"testing"

	"go.uber.org/goleak"
)

// No goroutine, stream or connection of a test may outlive it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
