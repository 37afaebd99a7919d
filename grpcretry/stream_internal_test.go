package grpcretry

import (
	"context"
	"testing"
)

// TestBindAfterAttemptEnded: a stream whose attempt context ended as its first message
// arrived has been canceled by then (or is about to be): it must not be handed over.
func TestBindAfterAttemptEnded(t *testing.T) {
	for _, tc := range []struct {
		name         string
		attemptEnded bool
	}{
		{"attempt still running", false},
		{"attempt context ended first", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			canceled, released := false, false
			var b binding
			ok := b.bind(func() bool { return !tc.attemptEnded }, context.Background(),
				func() { canceled = true }, func() { released = true })
			if ok == tc.attemptEnded {
				t.Fatalf("bind = %v", ok)
			}
			if canceled != tc.attemptEnded {
				t.Errorf("stream canceled: %v, want %v", canceled, tc.attemptEnded)
			}
			if ok {
				b.release()
				b.release() // idempotent
				if !canceled || !released {
					t.Errorf("release: stream canceled %v, call context released %v; want both", canceled, released)
				}
			}
		})
	}
}
