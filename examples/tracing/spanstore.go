package main

import (
	"context"
	"sync"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// spanStore is a span processor that keeps the ended spans of each trace in memory
// until the trees take them, so that the trees show what the SDK exported.
type spanStore struct {
	mu      sync.Mutex
	byTrace map[trace.TraceID][]sdktrace.ReadOnlySpan
}

var _ sdktrace.SpanProcessor = (*spanStore)(nil)

func newSpanStore() *spanStore {
	return &spanStore{byTrace: map[trace.TraceID][]sdktrace.ReadOnlySpan{}}
}

// OnStart does nothing: a span is kept once it has ended.
func (*spanStore) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd keeps s under its trace.
func (s *spanStore) OnEnd(sp sdktrace.ReadOnlySpan) {
	id := sp.SpanContext().TraceID()
	s.mu.Lock()
	s.byTrace[id] = append(s.byTrace[id], sp)
	s.mu.Unlock()
}

// Shutdown does nothing: there is nothing to flush.
func (*spanStore) Shutdown(context.Context) error { return nil }

// ForceFlush does nothing: spans are kept as they end.
func (*spanStore) ForceFlush(context.Context) error { return nil }

// take removes and returns the spans of trace id.
func (s *spanStore) take(id trace.TraceID) []sdktrace.ReadOnlySpan {
	s.mu.Lock()
	defer s.mu.Unlock()
	spans := s.byTrace[id]
	delete(s.byTrace, id)
	return spans
}

// reset drops every span kept, so that a workload that loops holds no more than a pass.
func (s *spanStore) reset() {
	s.mu.Lock()
	clear(s.byTrace)
	s.mu.Unlock()
}
