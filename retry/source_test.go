package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retrykit/hooks"
)

// The same seed gives the same pauses, through a whole policy, for every jitter.
func TestJitterFromSourceIsReproducible(t *testing.T) {
	exp := Exponential(10*time.Millisecond, 2, time.Second)
	for _, tc := range []struct {
		name string
		make func(Source) Backoff
	}{
		{"FullJitterFrom", func(s Source) Backoff { return FullJitterFrom(s, exp) }},
		{"EqualJitterFrom", func(s Source) Backoff { return EqualJitterFrom(s, exp) }},
		{"DecorrelatedFrom", func(s Source) Backoff { return DecorrelatedFrom(s, 10*time.Millisecond, time.Second) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pauses := func(seed uint64) []time.Duration {
				var got []time.Duration
				synctest.Test(t, func(t *testing.T) {
					src := rand.New(rand.NewPCG(seed, 1))
					p := MustNew(MaxTries(8), PauseWith(tc.make(src)), Hooks(hooks.Hooks{
						OnRetry: func(_ context.Context, _ hooks.Attempt, d time.Duration) { got = append(got, d) },
					}))
					_ = p.Do(context.Background(), func(context.Context) error { return errValue })
				})
				return got
			}
			a, b, c := pauses(42), pauses(42), pauses(43)
			if len(a) != 7 || !slices.Equal(a, b) {
				t.Errorf("seed 42 twice: %v and %v, want 7 equal pauses", a, b)
			}
			if slices.Equal(a, c) {
				t.Errorf("seeds 42 and 43 gave the same pauses %v", a)
			}
		})
	}
}

// A jitter with a source still draws in its range: the source's maximum gives the top.
func TestJitterFromSourceRange(t *testing.T) {
	top := maxSource{}
	if got := FullJitterFrom(top, Constant(time.Second)).Delay(1, 0); got != time.Second {
		t.Errorf("FullJitterFrom at the top = %v, want 1s", got)
	}
	if got := EqualJitterFrom(zeroSource{}, Constant(time.Second)).Delay(1, 0); got != 500*time.Millisecond {
		t.Errorf("EqualJitterFrom at the bottom = %v, want 500ms", got)
	}
	if got := DecorrelatedFrom(top, time.Second, time.Hour).Delay(2, 2*time.Second); got != 6*time.Second {
		t.Errorf("DecorrelatedFrom at the top = %v, want 6s", got)
	}
}

func TestJitterFromNilSource(t *testing.T) {
	for _, b := range []Backoff{
		FullJitterFrom(nil, Constant(time.Second)),
		EqualJitterFrom(nil, Constant(time.Second)),
		DecorrelatedFrom(nil, time.Second, time.Minute),
		FullJitter(EqualJitterFrom(nil, Constant(time.Second))),
	} {
		_, err := New(PauseWith(b))
		if err == nil || !errors.Is(err, errNilSource) || !strings.HasPrefix(err.Error(), "retry: PauseWith(") {
			t.Errorf("New(PauseWith(%v)) = %v, want an error naming PauseWith and the nil source", b, err)
		}
	}
}

type maxSource struct{}

func (maxSource) Int64N(n int64) int64 { return n - 1 }

type zeroSource struct{}

func (zeroSource) Int64N(int64) int64 { return 0 }
