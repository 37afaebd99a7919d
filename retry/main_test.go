package retry

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test of the package must leave no goroutine behind: the engine starts none, and
// Detach's goroutines end with the functions they run.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
