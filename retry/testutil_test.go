package retry

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"time"
)

// errValue and errOther play the ValueError and TestExc of aiomisc's tests.
var (
	errValue = errors.New("ValueError: RETRY")
	errOther = errors.New("TestExc")
)

// work is a cooperative attempt: it runs for d, or until its context is done, and then
// returns err (or the context's error).
func work(ctx context.Context, d time.Duration, err error) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// counter counts the attempts of a function, safely for concurrent calls.
type counter struct{ n atomic.Int64 }

func (c *counter) add() int       { return int(c.n.Add(1)) }
func (c *counter) count() int     { return int(c.n.Load()) }
func sec(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

func goexitNow() { runtime.Goexit() }
