package retry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/retrykit/retrykit/hooks"
)

var errBench = errors.New("bench: transient")

func BenchmarkDo(b *testing.B) {
	ctx := context.Background()
	ok := func(context.Context) error { return nil }

	b.Run("first-try", func(b *testing.B) {
		p := MustNew()
		b.ReportAllocs()
		for b.Loop() {
			if err := p.Do(ctx, ok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("first-try-empty-hooks", func(b *testing.B) {
		p := MustNew(Hooks(hooks.Hooks{}))
		b.ReportAllocs()
		for b.Loop() {
			if err := p.Do(ctx, ok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("two-failures-zero-pause", func(b *testing.B) {
		p := MustNew(MaxTries(3))
		n := 0
		fn := func(context.Context) error {
			n++
			if n%3 != 0 {
				return errBench
			}
			return nil
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := p.Do(ctx, fn); err != nil {
				b.Fatal(err)
			}
		}
		if n != 3*b.N {
			b.Fatalf("%d attempts for %d calls, want 3 per call", n, b.N)
		}
	})
	b.Run("timeouts", func(b *testing.B) {
		p := MustNew(AttemptTimeout(100*time.Millisecond), Deadline(time.Second))
		b.ReportAllocs()
		for b.Loop() {
			if err := p.Do(ctx, ok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("context.WithTimeout", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			_ = ok(c)
			cancel()
		}
	})
	b.Run("DoValue-closure", func(b *testing.B) {
		p := MustNew()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			v, err := DoValue(ctx, p, func(context.Context) (int, error) { return i, nil })
			if err != nil || v != i {
				b.Fatal(v, err)
			}
		}
	})
}
