package otelretry_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test shuts its providers and exporters down: no goroutine may outlive it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
