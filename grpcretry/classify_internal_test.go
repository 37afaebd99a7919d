package grpcretry

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
)

// lateContext has a deadline that has passed while its timer has not yet run: Err is
// still nil, the moment in which the server's DeadlineExceeded can arrive.
type lateContext struct {
	context.Context
	dl time.Time
}

func (c lateContext) Deadline() (time.Time, bool) { return c.dl, true }

func TestEndedByContext(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	past := lateContext{context.Background(), time.Now().Add(-time.Millisecond)}
	future := lateContext{context.Background(), time.Now().Add(time.Hour)}
	for _, tc := range []struct {
		name string
		ctx  context.Context
		code codes.Code
		want bool
	}{
		{"deadline passed, context not yet done", past, codes.DeadlineExceeded, true},
		{"deadline ahead", future, codes.DeadlineExceeded, false},
		{"no deadline", context.Background(), codes.DeadlineExceeded, false},
		{"canceled context", canceled, codes.Canceled, true},
		{"canceled context, DeadlineExceeded", canceled, codes.DeadlineExceeded, true},
		{"server's Canceled", context.Background(), codes.Canceled, false},
		{"server's Canceled, deadline passed", past, codes.Canceled, false},
	} {
		if got := endedByContext(tc.ctx, tc.code); got != tc.want {
			t.Errorf("%s: endedByContext = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestParsePushback(t *testing.T) {
	for _, tc := range []struct {
		vs     []string
		want   time.Duration
		wantOK bool
	}{
		{[]string{"0"}, 0, true},
		{[]string{"250"}, 250 * time.Millisecond, true},
		{[]string{"9223372036854775807"}, 1<<63 - 1, true},
		{[]string{"-1"}, 0, false},
		{[]string{"x"}, 0, false},
		{[]string{" 5"}, 0, false},
		{[]string{"1", "2"}, 0, false},
		{nil, 0, false},
	} {
		got, ok := parsePushback(tc.vs)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("parsePushback(%q) = %v, %v; want %v, %v", tc.vs, got, ok, tc.want, tc.wantOK)
		}
	}
}
