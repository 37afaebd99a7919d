package main

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// The service's latencies: one answer in slowEvery takes slowLatency, the others between
// fastMin and fastMin+fastSpread, "about 5 ms".
const (
	slowEvery   = 100
	slowLatency = time.Second
	fastMin     = 4 * time.Millisecond
	fastSpread  = 2 * time.Millisecond
)

// latencyFor is how long the service takes to answer attempt n of call i, a pure
// function of the seed so that a run can be repeated: exactly one first attempt in each
// block of slowEvery calls is slow, at a position drawn from the seed, and every later
// attempt is slow with probability 1/slowEvery. So 1% of the answers take a second, the
// heavy tail of "The Tail at Scale".
func latencyFor(seed uint64, i, n int) time.Duration {
	var slow bool
	if n == 1 {
		block := rand.New(rand.NewPCG(seed, uint64(i/slowEvery)))
		slow = block.IntN(slowEvery) == i%slowEvery
	} else {
		slow = rand.New(rand.NewPCG(seed^0x9e3779b97f4a7c15, uint64(i)<<8|uint64(n&0xff))).IntN(slowEvery) == 0
	}
	if slow {
		return slowLatency
	}
	r := rand.New(rand.NewPCG(seed, uint64(i)<<8|uint64(n&0xff)|1<<62))
	return fastMin + time.Duration(r.Int64N(int64(fastSpread)+1))
}

// wait sleeps d unless ctx is done first, and returns ctx's error if it was.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// service answers GET /item?call=i&attempt=n after latencyFor(seed, i, n), or gives up
// when the client goes away (a superseded attempt's request is canceled).
func service(seed uint64) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /item", func(w http.ResponseWriter, r *http.Request) {
		i, err1 := strconv.Atoi(r.URL.Query().Get("call"))
		n, err2 := strconv.Atoi(r.URL.Query().Get("attempt"))
		if err1 != nil || err2 != nil || i < 0 || n < 1 {
			http.Error(w, "want call=i&attempt=n", http.StatusBadRequest)
			return
		}
		if wait(r.Context(), latencyFor(seed, i, n)) != nil {
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}
