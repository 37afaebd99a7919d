package grpcretry

import (
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"
)

// plain is the reply of a codec other than protocol buffers.
type plain struct {
	Name  string
	Items []int
}

// TestReplies: every attempt of a hedged call gets an empty reply of the caller's type,
// never the caller's, and the winner's is copied into the caller's whole.
func TestReplies(t *testing.T) {
	t.Run("protocol buffer", func(t *testing.T) {
		reply := &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_NOT_SERVING}
		a := newReply(reply)
		m, ok := a.(*healthpb.HealthCheckResponse)
		if !ok || m == reply || m.GetStatus() != healthpb.HealthCheckResponse_UNKNOWN {
			t.Fatalf("newReply = %#v, want a new empty message", a)
		}
		m.Status = healthpb.HealthCheckResponse_SERVING
		copyReply(reply, m)
		if !proto.Equal(reply, m) {
			t.Errorf("copyReply left %v, want %v", reply, m)
		}
	})
	t.Run("reset before the copy", func(t *testing.T) {
		// A field the winner does not set must not keep the caller's value.
		reply := &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_NOT_SERVING}
		copyReply(reply, newReply(reply))
		if reply.GetStatus() != healthpb.HealthCheckResponse_UNKNOWN {
			t.Errorf("copyReply left %v, want an empty message", reply)
		}
	})
	t.Run("another codec's pointer", func(t *testing.T) {
		reply := &plain{Name: "caller's"}
		a := newReply(reply)
		p, ok := a.(*plain)
		if !ok || p == reply || p.Name != "" {
			t.Fatalf("newReply = %#v, want a new zero value", a)
		}
		p.Name, p.Items = "winner's", []int{1, 2}
		copyReply(reply, p)
		if reply.Name != "winner's" || len(reply.Items) != 2 {
			t.Errorf("copyReply left %+v", reply)
		}
	})
	t.Run("nothing to write into", func(t *testing.T) {
		var nilMsg *healthpb.HealthCheckResponse
		for _, reply := range []any{nil, nilMsg, healthpb.HealthCheckResponse_SERVING} {
			if a := newReply(reply); a != reply {
				t.Errorf("newReply(%#v) = %#v, want it unchanged", reply, a)
			}
		}
	})
}
