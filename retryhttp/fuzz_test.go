package retryhttp_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/retry"
	"github.com/retrykit/retrykit/retryhttp"
)

// step is one scripted answer of the fuzzed server.
type step struct {
	status     int // 0: close the connection without an answer
	retryAfter string
	size       int // body bytes
}

// decodeSteps turns fuzz bytes into a script of at most 6 answers.
func decodeSteps(script []byte) []step {
	statuses := []int{200, 404, 503, 429, 500, 0, 501, 408}
	waits := []string{"", "0", "soon", "120", "-1", "Wed, 21 Oct 2015 07:28:00 GMT"}
	var steps []step
	for i, b := range script {
		if i == 6 {
			break
		}
		s := step{status: statuses[int(b)%len(statuses)], retryAfter: waits[int(b>>3)%len(waits)], size: 7}
		if b&0x80 != 0 {
			s.size = 70 << 10 // over the drain limit
		}
		steps = append(steps, s)
	}
	if len(steps) == 0 {
		steps = []step{{status: 200}}
	}
	return steps
}

func encodeSteps(steps []step) string {
	var parts []string
	for _, s := range steps {
		parts = append(parts, strconv.Itoa(s.status)+"|"+s.retryAfter+"|"+strconv.Itoa(s.size))
	}
	return strings.Join(parts, ";")
}

// fuzzServer answers each attempt (X-Attempt, the resend count) with the step of the
// script in X-Steps: net/http's own replays on a broken keep-alive connection get the
// same answer again.
func fuzzServer(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	resend, _ := strconv.Atoi(r.Header.Get("X-Attempt"))
	parts := strings.Split(r.Header.Get("X-Steps"), ";")
	f := strings.Split(parts[min(resend, len(parts)-1)], "|")
	status, _ := strconv.Atoi(f[0])
	size, _ := strconv.Atoi(f[2])
	if status == 0 {
		hangUp(w, r)
		return
	}
	if f[1] != "" {
		w.Header().Set("Retry-After", f[1])
	}
	w.Header().Set("X-Resend", strconv.Itoa(resend))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, strings.Repeat("z", size))
}

// model is what the Transport must do with a script: the attempts, and the answer of the
// last one (status 0: a transport error) with the call's outcome.
func model(steps []step, maxTries int, once bool) (attempts int, last step, outcome hooks.Outcome) {
	retried := map[int]bool{408: true, 429: true, 500: true, 502: true, 503: true, 504: true}
	for attempts = 1; ; attempts++ {
		s := steps[min(attempts-1, len(steps)-1)]
		switch {
		case s.status != 0 && !retried[s.status]:
			return attempts, s, hooks.Success
		case once:
			return attempts, s, hooks.Permanent
		case attempts == maxTries:
			return attempts, s, hooks.Exhausted
		case s.status != 0 && s.retryAfter == "120":
			return attempts, s, hooks.GaveUp
		}
	}
}

// FuzzTransport runs random scripts of statuses, Retry-After values, body sizes and
// broken connections through a Transport against a real server and compares what it
// did with the model.
func FuzzTransport(f *testing.F) {
	f.Add(uint8(0), uint8(3), []byte{2, 2, 0})
	f.Add(uint8(1), uint8(3), []byte{2, 0})
	f.Add(uint8(2), uint8(3), []byte{2, 0})
	f.Add(uint8(0), uint8(2), []byte{5, 5, 5})
	f.Add(uint8(0), uint8(4), []byte{2 | 0x80, 3 | 0x80, 1})
	f.Add(uint8(0), uint8(4), []byte{3 + 3<<3, 0})
	f.Add(uint8(0), uint8(4), []byte{4 + 5<<3, 4 + 2<<3, 4 + 4<<3, 7})
	f.Add(uint8(1), uint8(2), []byte{5})
	srv := httptest.NewServer(http.HandlerFunc(fuzzServer))
	defer srv.Close()
	next := &http.Transport{}
	defer next.CloseIdleConnections()
	f.Fuzz(func(t *testing.T, method, tries uint8, script []byte) {
		steps := decodeSteps(script)
		maxTries := 1 + int(tries)%4
		var rec record
		tr := retryhttp.NewTransport(next, retry.MustNew(retry.MaxTries(maxTries), rec.hooks()), retryhttp.AttemptHeader("X-Attempt"))
		req, err := http.NewRequest([]string{"GET", "POST", "POST"}[method%3], srv.URL, strings.NewReader("body"))
		if err != nil {
			t.Fatal(err)
		}
		if method%3 == 2 {
			req.Header.Set("Idempotency-Key", "k")
		}
		req.Header.Set("X-Steps", encodeSteps(steps))
		wantAttempts, last, wantOutcome := model(steps, maxTries, method%3 == 1)

		resp, err := tr.RoundTrip(req)
		outcome, attempts := rec.last()
		if attempts != wantAttempts || outcome != wantOutcome {
			t.Fatalf("script %+v, %d tries: %v after %d attempts; the model says %v after %d", steps, maxTries, outcome, attempts, wantOutcome, wantAttempts)
		}
		if last.status == 0 {
			var rerr *retry.Error
			if resp != nil || !errors.As(err, &rerr) || rerr.Outcome != wantOutcome {
				t.Fatalf("script %+v: RoundTrip = %v, %v; want nil and a *retry.Error %v", steps, resp, err, wantOutcome)
			}
			return
		}
		if err != nil || resp == nil {
			t.Fatalf("script %+v: RoundTrip = %v, %v; want the response of attempt %d", steps, resp, err, wantAttempts)
		}
		body, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != last.status || len(body) != last.size || rerr != nil ||
			resp.Header.Get("X-Resend") != strconv.Itoa(wantAttempts-1) {
			t.Fatalf("script %+v: got %d with %d bytes (%v) from resend %s; want %d with %d bytes from resend %d",
				steps, resp.StatusCode, len(body), rerr, resp.Header.Get("X-Resend"), last.status, last.size, wantAttempts-1)
		}
	})
}
