package retry_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/retry"
)

// fuzzSource feeds propGen from the fuzzer's bytes: each draw takes one byte (two for
// ranges over 256); past the end every draw is 0, which makes the shortest script.
type fuzzSource struct{ b []byte }

func (s *fuzzSource) byte() int {
	if len(s.b) == 0 {
		return 0
	}
	v := s.b[0]
	s.b = s.b[1:]
	return int(v)
}

func (s *fuzzSource) IntN(n int) int {
	if n <= 1 {
		return 0
	}
	v := s.byte()
	if n > 256 {
		v = v<<8 | s.byte()
	}
	return v % n
}

// FuzzScript decodes the input into a script as TestPropertyModel draws them and checks
// the engine against the reference model. Inputs whose timers tie (two firing at the same
// instant, so that the run is not deterministic) are skipped.
func FuzzScript(f *testing.F) {
	for _, seed := range fuzzScriptSeeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := propGen(&fuzzSource{b: data})
		propRunScript(t, s, fmt.Sprintf("input %q", data))
	})
}

// fuzzScriptSeeds reach every outcome of the model, most of them also with three attempts
// or more. The comment above each says what propGen makes of it.
var fuzzScriptSeeds = []string{
	// every draw 0: AttemptTimeout(0s) Deadline(0s) Pause(0s) giveUp=true rawCtxErr=true ctx=background steps=[]: Deadline, fn never called
	"",
	// success: Pause(2ms) filter=On giveUp=false hooks=true rawCtxErr=false ctx=background steps=[2ms:ok]
	strings.Repeat("\x01", 80),
	// deadline: Pause(0s) filter=OnType hooks=true rawCtxErr=true ctx=deadline(6ms) steps=[16ms:fatal 16ms:fatal 16ms:fatal]
	strings.Repeat("\xff", 80),
	// permanent: Deadline(190ms) Pause(20ms) MaxTries(5) filter=On giveUp=false hooks=true rawCtxErr=true ctx=background steps=[60ms:permWrapped 48ms:transient]
	"\xfbRgv\xbb\x87\x9bC\x13\xf8dM\x93)EyJ]\xb4\v\xa1\xc1\x8f\x01k\x11\b\xbd\xc5\xe6\x17\x98\xd5B\x98\xd3\xd6\xef\xd3",
	// success+3 deaf: AttemptTimeout(0s) Deadline(240ms) Pause(14ms) filter=On giveUp=true hooks=true rawCtxErr=false ctx=deadline(79ms) steps=[29ms:transient:deaf 0s:transient 1ms:ok:deaf 0s:ok 0s:ok 0s:ok 0s:ok]
	"\"_6\xfc\xc7\xef\xfa\x17\xab5P\xdd\xe2f\xfd\x12\x92\xe7N?X\x9b\xe3X\u0210\x04 \"\xf5",
	// success: Deadline(15ms) MaxTries(4) filter=none giveUp=true hooks=true rawCtxErr=false ctx=deadline(76ms) steps=[]
	"-\x12\u0540\x98\u07e9\x03\xa0\x8e\xa2X\x87\xa2sK\x95",
	// deadline: Deadline(10ms) Pause(25ms) filter=none giveUp=false hooks=true rawCtxErr=false ctx=deadline(210ms) steps=[30ms:fatal 20ms:fatal 0s:ok 0s:ok 0s:ok 0s:ok]
	"G\u0436\xa0\x97\x19\u9350_\x04\x03\xdbVN\u033a\xf1\xc5\xf9*\x9bYw\x96C[\x8b'3ph",
	// success deaf: Pause(30ms) MaxTries(6) filter=none giveUp=true hooks=false rawCtxErr=true ctx=background steps=[5ms:ok:deaf 0s:ok]
	"s\r`\x01\xd4M\xc05d@\x18H\xcd\xf5\x8d\x84",
	// canceled: AttemptTimeout(18ms) filter=none giveUp=false hooks=false rawCtxErr=false ctx=canceledBefore steps=[15ms:transient:deaf]
	"\xaa\xa8\x91\x11\x05!\u0340\xcd\xe4\x9epv-\xec\x0e\x10\xe6\x8f\xc5V;s\f\xe9>}\xf3\bB",
	// exhausted: AttemptTimeout(25ms) MaxTries(2) filter=OnType giveUp=false hooks=false rawCtxErr=false ctx=deadline(52ms) steps=[38ms:perm 0s:transient 5ms:ok:deaf 0s:ok]
	"\xf0a~\xa0\xaf\x9fW\x9dW\xcf\xe82]\xb9\x153m\x16\xad\x83akT@\n\xae",
	// gave_up: AttemptTimeout(34ms) Pause(25ms) filter=If giveUp=true hooks=true rawCtxErr=false ctx=deadline(219ms) cancelAt=174ms steps=[0s:stop 0s:stop 6ms:transient 8ms:transient 60ms:panic:deaf]
	"\u02bf+\xd5\xcf\xff\xd0-h\xf1\xd64\xb3@^S\xd9\xdar\u076d \xacF\U00027487A\xca\u04b5\x9d\xbbR\xef\xc2P_\xc0\xc4w",
	// deadline deaf: Pause(30ms) MaxTries(1) filter=none giveUp=false hooks=true rawCtxErr=false ctx=deadline(45ms) steps=[60ms:fatal:deaf 35ms:fatal 5ms:permWrapped 0s:panic 35ms:transient 55ms:ok:deaf 0s:ok 0s:ok]
	"{\x1d\xde\xc1\x90\xfd\xdal4\xed\xfb\x10\xearx:\x13>\xb7\xfa\x17@\xa1\x1d\xf4\xd2443\x98<\xb1X\x9c\u00c5\x02\x8a\x01\x95\xebnR",
	// permanent+3: MaxTries(3) filter=If giveUp=true hooks=true rawCtxErr=true ctx=cancelable steps=[19ms:transient 20ms:transient 20ms:perm 0s:transient 0s:fatal 0s:ok]
	"\xa5mS\x9dn\xfa\xfe\"]\xbe\xdb3\xf2\xb3\u0193\xda\xed0\x0f\x0e-\xeaD?\xae\xb6\xcc\x13@:\xd0",
	// deadline+3 deaf: AttemptTimeout(13ms) Deadline(90ms) Pause(10ms) MaxTries(3) filter=OnType giveUp=false hooks=true rawCtxErr=true ctx=cancelable steps=[30ms:fatal 51ms:transient:deaf 50ms:fatal 0s:ok 0s:ok]
	"\xa0\t\xb9\xc0\x9eCJCU\xce\x04\xe1Y\xc2\u03c1}\x0fo\xf3hu\xfc\x11\xba43\xcd2\xd0q\x93\x9a\xed_6",
	// panicked: AttemptTimeout(5ms) Deadline(220ms) MaxTries(6) filter=If giveUp=false hooks=true rawCtxErr=false ctx=background steps=[27ms:perm 0s:panic 0s:transient 6ms:fatal 0s:fatal 56ms:transient]
	"\x84\xbd\x14\xc0\x8c]\xb0\x8f\b\r\x17\xb2\x1dB\xf5\x04\u030e\u0152\x1eRdc\xcc\xf7aSA\x1e4\xd0\xfb\x89S7\x91\x8f\x95\xde\x10\xa3,",
	// success+3: AttemptTimeout(0s) Pause(0s) filter=If giveUp=false hooks=true rawCtxErr=false ctx=background steps=[25ms:ok 41ms:transient]
	"\xd62\x19\xc5\x06\x9b\x82\x01\x15\xf2\xa6\xfeG\xda(u\aG\x11\u0731\xe4\xb2\xfa\x14R\xae,\x13{)\xa9z",
	// deadline+3: AttemptTimeout(55ms) Deadline(125ms) Pause(25ms) filter=none giveUp=false hooks=true rawCtxErr=false ctx=cancelable steps=[0s:transient 40ms:transient 45ms:transient 5ms:transient 45ms:ok 0s:ok 0s:ok 0s:ok]
	"\xa2\x8bhj\xa0\xb0\x95|\u7382d=,\xf5%\u0fddt\xe40\x9e\xc4O\xb2(\xb3\xfe\\~o\x83\xa2\xb4\xf4\u0791V\xe0#",
}

// FuzzOptions checks New's validation over arbitrary durations and tries: an invalid value
// is an error that starts with "retry: " and names the option and the value as New's
// documentation writes them (AttemptTimeout(-100ms)); MustNew panics with that error, Times panics for
// n < 1; a valid policy never panics and behaves by the timing rules on a call that fails
// once, with any durations up to the largest (time arithmetic must not overflow).
func FuzzOptions(f *testing.F) {
	f.Add(int64(-100*time.Millisecond), int64(0), int64(0), 0, uint8(0x1))
	f.Add(int64(0), int64(-1), int64(0), 0, uint8(0x2))
	f.Add(int64(0), int64(0), int64(-time.Second), 0, uint8(0x4))
	f.Add(int64(0), int64(0), int64(0), 0, uint8(0x8))
	f.Add(int64(0), int64(0), int64(0), -5, uint8(0xf))
	f.Add(int64(0), int64(0), int64(0), 1, uint8(0xf))
	f.Add(int64(time.Second), int64(3*time.Second), int64(time.Second), 3, uint8(0xf))
	f.Add(int64(time.Second), int64(2*time.Second), int64(2*time.Second), 4, uint8(0x7))
	f.Add(int64(1<<63-1), int64(1<<63-1), int64(1<<63-2), 2, uint8(0xf))
	f.Add(int64(1<<63-1), int64(1<<63-1), int64(1<<63-1), 2, uint8(0xe))
	f.Add(int64(-1<<63), int64(-1<<63), int64(-1<<63), -1<<63, uint8(0xf))
	f.Fuzz(func(t *testing.T, at, dl, pause int64, tries int, set uint8) {
		fuzzCheckOptions(t, time.Duration(at), time.Duration(dl), time.Duration(pause), tries, set)
	})
}

func fuzzCheckOptions(t *testing.T, at, dl, pause time.Duration, tries int, set uint8) {
	hasAT, hasDL, hasPause, hasTries := set&1 != 0, set&2 != 0, set&4 != 0, set&8 != 0
	var opts []retry.Option
	// The first invalid option, in the order given, is the one New reports.
	var wantPrefix string
	invalid := func(cond bool, prefix string) {
		if cond && wantPrefix == "" {
			wantPrefix = prefix
		}
	}
	if hasAT {
		opts = append(opts, retry.AttemptTimeout(at))
		invalid(at < 0, "retry: AttemptTimeout("+at.String()+"): ")
	}
	if hasDL {
		opts = append(opts, retry.Deadline(dl))
		invalid(dl < 0, "retry: Deadline("+dl.String()+"): ")
	}
	if hasPause {
		opts = append(opts, retry.Pause(pause))
		invalid(pause < 0, "retry: Pause("+pause.String()+"): ")
	}
	if hasTries {
		opts = append(opts, retry.MaxTries(tries))
		invalid(tries < 1, "retry: MaxTries("+strconv.Itoa(tries)+"): ")
	}

	p, err := retry.New(opts...)
	if wantPrefix != "" {
		if err == nil || p != nil {
			t.Fatalf("New = %v, %v; want an error starting %q", p, err, wantPrefix)
		}
		if !strings.HasPrefix(err.Error(), wantPrefix) || len(err.Error()) == len(wantPrefix) {
			t.Fatalf("New error %q, want %q followed by the problem", err, wantPrefix)
		}
		got := fuzzPanicValue(func() { retry.MustNew(opts...) })
		if gerr, ok := got.(error); !ok || gerr.Error() != err.Error() {
			t.Fatalf("MustNew panicked with %v, want New's error %q", got, err)
		}
	} else if err != nil || p == nil {
		t.Fatalf("New = %v, %v; want a policy", p, err)
	}
	if hasTries {
		got := fuzzPanicValue(func() { retry.Times(tries) })
		if (got != nil) != (tries < 1) {
			t.Fatalf("Times(%d) panicked with %v", tries, got)
		}
	}
	if p == nil {
		return
	}

	// One call whose first attempt fails at once (retryable) and whose second succeeds.
	// The expectation follows the timing rules for that call alone.
	var (
		wantOutcome  = hooks.Success
		wantAttempts = 2
		wantElapsed  time.Duration
		wantTimedOut = hasAT && at == 0 && !(hasDL && dl == 0) // AttemptTimeout(0): the context has expired
	)
	var delay time.Duration
	if hasPause {
		delay = pause
	}
	switch {
	case hasDL && dl == 0:
		wantOutcome, wantAttempts = hooks.Deadline, 0
	case hasTries && tries == 1:
		wantOutcome, wantAttempts = hooks.Exhausted, 1
	case hasDL && delay >= dl:
		wantOutcome, wantAttempts = hooks.Deadline, 1
	default:
		wantElapsed = delay
	}
	synctest.Test(t, func(t *testing.T) {
		errFirst := errors.New("fuzz: first attempt")
		calls := 0
		start := time.Now()
		err := p.Do(context.Background(), func(ctx context.Context) error {
			calls++
			if calls == 1 {
				return errFirst
			}
			return nil
		})
		elapsed := time.Since(start)
		if wantElapsed > fuzzMaxSleep && elapsed <= wantElapsed && elapsed > fuzzMaxSleep/2 {
			// The runtime caps a timer at the largest monotonic reading, and a synctest
			// bubble's clock starts 30 years in (at 2000-01-01): a pause this long ends early.
			elapsed = wantElapsed
		}
		if calls != wantAttempts || elapsed != wantElapsed {
			t.Fatalf("%d calls in %v, want %d in %v (err %v)", calls, elapsed, wantAttempts, wantElapsed, err)
		}
		if wantOutcome == hooks.Success {
			if err != nil {
				t.Fatalf("Do = %v, want success", err)
			}
			return
		}
		var re *retry.Error
		if !errors.As(err, &re) || re.Outcome != wantOutcome || re.Attempts != wantAttempts {
			t.Fatalf("Do = %v, want outcome %v after %d attempts", err, wantOutcome, wantAttempts)
		}
		if wantAttempts > 0 && !errors.Is(err, errFirst) {
			t.Fatalf("Do = %v, does not match the attempt's error", err)
		}
		if wantOutcome == hooks.Exhausted && errors.Is(err, retry.ErrAttemptTimeout) != wantTimedOut {
			t.Fatalf("Do = %v: errors.Is(ErrAttemptTimeout) = %v, want %v", err, !wantTimedOut, wantTimedOut)
		}
	})
}

// fuzzMaxSleep is the longest pause whose length a synctest bubble keeps exactly.
const fuzzMaxSleep = time.Duration(1 << 62)

// fuzzPanicValue returns what f panics with, nil if it returns.
func fuzzPanicValue(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}
