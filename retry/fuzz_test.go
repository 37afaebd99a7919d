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
	// permanent: Deadline(190ms) Pause(20ms) MaxTries(5) filter=On giveUp=false hooks=true rawCtxErr=true ctx=background steps=[60ms:fatal 2ms:ok]
	"\xfbRgv\xbb\x87\x9bC\x13\xf8dM\x93)EyJ]\xb4\v\xa1\xc1\x8f\x01k\x11\b\xbd\xc5\xe6\x17\x98\xd5B\x98\xd3\xd6\xef\xd3",
	// success: AttemptTimeout(0s) Deadline(240ms) Pause(14ms) filter=On giveUp=true hooks=true rawCtxErr=false ctx=deadline(79ms) steps=[29ms:ok 0s:ok 0s:transient 5ms:ok 0s:ok 0s:ok 0s:ok]
	"\"_6\xfc\xc7\xef\xfa\x17\xab5P\xdd\xe2f\xfd\x12\x92\xe7N?X\x9b\xe3X\u0210\x04 \"\xf5",
	// deadline: Deadline(10ms) Pause(25ms) filter=none giveUp=false hooks=true rawCtxErr=false ctx=deadline(210ms) steps=[30ms:transient 32ms:transient 53ms:ok 0s:ok 0s:ok 0s:ok]
	"G\u0436\xa0\x97\x19\u9350_\x04\x03\xdbVN\u033a\xf1\xc5\xf9*\x9bYw\x96C[\x8b'3ph",
	// canceled: AttemptTimeout(18ms) filter=none giveUp=false hooks=false rawCtxErr=false ctx=canceledBefore steps=[15ms:transient]
	"\xaa\xa8\x91\x11\x05!\u0340\xcd\xe4\x9epv-\xec\x0e\x10\xe6\x8f\xc5V;s\f\xe9>}\xf3\bB",
	// exhausted: AttemptTimeout(25ms) MaxTries(2) filter=OnType giveUp=false hooks=false rawCtxErr=false ctx=deadline(52ms) steps=[38ms:ok 0s:stop 5ms:ok 0s:ok]
	"\xf0a~\xa0\xaf\x9fW\x9dW\xcf\xe82]\xb9\x153m\x16\xad\x83akT@\n\xae",
	// panicked: filter=If giveUp=false hooks=true rawCtxErr=true ctx=background steps=[25ms:panic 20ms:fatal 50ms:ok 30ms:transient 35ms:transient 40ms:permWrapped]
	"E\xf3\xad#\xca\x0fe0\x00\x18\xcd\"\xdc\xc7%\xa8\x9f\x9a\xe9\x10\xed\x03\xab\xbc\xdd\xe3\x87D\xa2\x80\x81\x00\xafUXAo\x88\x1e",
	// success+3: AttemptTimeout(10ms) Deadline(170ms) Pause(0s) filter=If giveUp=false hooks=true rawCtxErr=false ctx=background steps=[17ms:transient 45ms:transient 25ms:stop 1ms:ok 0s:ok]
	"\xb6\x9a\xaey\x18'\xa1\xa9\x93\xf6\xeb\x9e\r5\x8e\xe1qA\xfd\x88\xd2Q\xda\b\x90\xe5\xfaX\xa8\xbas",
	// exhausted+3: AttemptTimeout(57ms) Deadline(250ms) MaxTries(3) filter=none giveUp=true hooks=true rawCtxErr=false ctx=background steps=[51ms:transient 0s:fatal 55ms:transient 0s:ok 0s:ok 0s:ok]
	"\x02\x0e\xfft\xfa\xc7R\u01deD\x14\xfc0!\x1d+E\x9d_2\x93\xb8\x99\xb7%6\x8c",
	// gave_up: AttemptTimeout(34ms) Pause(25ms) filter=If giveUp=true hooks=true rawCtxErr=false ctx=deadline(219ms) cancelAt=174ms steps=[0s:stop 0s:stop 6ms:ok 38ms:permWrapped 15ms:perm]
	"\u02bf+\xd5\xcf\xff\xd0-h\xf1\xd64\xb3@^S\xd9\xdar\u076d \xacF\U00027487A\xca\u04b5\x9d\xbbR\xef\xc2P_\xc0\xc4w",
	// deadline+3: AttemptTimeout(50ms) Pause(0s) filter=OnType giveUp=false hooks=true rawCtxErr=true ctx=deadline(118ms) cancelAt=155ms steps=[40ms:stop 60ms:transient 15ms:stop 30ms:transient]
	"\x84`\xea\xb1+\xb9\xc3\x19\x13\x83\x7frs\xf55u\u010cP\xa6\xbd\U0002fb15\x14\xcby\xbd\xe2\xc2A\xb7\xc0\x1d \x10",
	// canceled+3: Deadline(60ms) Pause(2ms) filter=none giveUp=true hooks=true rawCtxErr=false ctx=cancelable cancelAt=30ms steps=[5ms:transient 0s:fatal 0s:transient 39ms:ok 0s:stop 5ms:ok 0s:ok 0s:ok]
	"\xe1Zc\x80\u04ecF_ys(\xaa]y\xe6\f\x9a\xff\x112H\f\x1a@\xfe\x94\xd3F/\x9e\x00H\xaf\x16",
	// permanent+3: AttemptTimeout(21ms) Deadline(64ms) filter=OnType giveUp=false hooks=true rawCtxErr=false ctx=deadline(163ms) steps=[59ms:permWrapped 56ms:transient 0s:perm]
	"\x8a\xfd\u03cc\xbc\xe4S?^\x8c\x87\xfbm\u009a\xc9\u05e2\t\xf6\x9ds\xb2\xbb\xab\xb7\xaf\xe5pMX\x1e\x85\x8c\x1f\x80\u019f\a",
}

// FuzzOptions checks New's validation over arbitrary durations and tries: an invalid value
// is an error that starts with "retry: " and names the option and the value as API.md
// writes them (AttemptTimeout(-100ms)); MustNew panics with that error, Times panics for
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
