package retryhttp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/retry"
)

// now is the reference time of the parser tests: one minute before the RFC's example date.
var now = time.Date(2015, time.October, 21, 7, 27, 0, 0, time.UTC)

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		value   string
		want    time.Duration
		wantErr error
	}{
		// delta-seconds
		{"0", 0, nil},
		{"1", time.Second, nil},
		{"120", 2 * time.Minute, nil},
		{"  120\t", 2 * time.Minute, nil},
		{"000000000000000000000000000007", 7 * time.Second, nil},
		{"86400", 24 * time.Hour, nil},
		{"86401", 0, ErrRange},
		{"99999999999999999999999999999", 0, ErrRange},
		{"-5", 0, ErrRange},
		{"-0", 0, ErrRange},
		// HTTP-date, in the three formats of RFC 9110
		{"Wed, 21 Oct 2015 07:28:00 GMT", time.Minute, nil},
		{"Wednesday, 21-Oct-15 07:28:00 GMT", time.Minute, nil},
		{"Wed Oct 21 07:28:00 2015", time.Minute, nil},
		{" Wed, 21 Oct 2015 07:28:00 GMT ", time.Minute, nil},
		{"Wed, 21 Oct 2015 07:27:00 GMT", 0, nil}, // now
		{"Wed, 21 Oct 2015 07:00:00 GMT", 0, nil}, // passed: retry now
		{"Thu, 01 Jan 1970 00:00:00 GMT", 0, nil},
		{"Thu, 22 Oct 2015 07:27:00 GMT", 24 * time.Hour, nil},
		{"Thu, 22 Oct 2015 07:27:01 GMT", 0, ErrRange},
		{"Fri, 31 Dec 9999 23:59:59 GMT", 0, ErrRange},
		// garbage
		{"", 0, ErrSyntax},
		{" \t ", 0, ErrSyntax},
		{"-", 0, ErrSyntax},
		{"--5", 0, ErrSyntax},
		{"+5", 0, ErrSyntax},
		{"1.5", 0, ErrSyntax},
		{"5s", 0, ErrSyntax},
		{"1 2", 0, ErrSyntax},
		{"0x10", 0, ErrSyntax},
		{"١٢", 0, ErrSyntax}, // Arabic-Indic digits are not DIGIT
		{"soon", 0, ErrSyntax},
		{"Wed, 21 Oct 2015 07:28:00", 0, ErrSyntax},
		{"Wed, 32 Oct 2015 07:28:00 GMT", 0, ErrSyntax},
		{"2015-10-21T07:28:00Z", 0, ErrSyntax},
		{"\x00\xff", 0, ErrSyntax},
	}
	for _, tt := range tests {
		got, err := ParseRetryAfter(tt.value, now)
		if got != tt.want || !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.value, got, err, tt.want, tt.wantErr)
		}
		if errors.Is(err, ErrSyntax) && errors.Is(err, ErrRange) {
			t.Errorf("ParseRetryAfter(%q): %v matches both ErrSyntax and ErrRange", tt.value, err)
		}
	}
}

func TestParseRetryAfterMessages(t *testing.T) {
	tests := []struct{ value, want string }{
		{"soon", `retryhttp: Retry-After "soon": neither delta-seconds nor an HTTP-date`},
		{"-5", `retryhttp: Retry-After "-5": out of range: a negative wait`},
		{"86401", `retryhttp: Retry-After "86401": out of range: longer than 24h0m0s`},
		{"Fri, 23 Oct 2015 07:27:00 GMT", `retryhttp: Retry-After "Fri, 23 Oct 2015 07:27:00 GMT": out of range: 48h0m0s from now is longer than 24h0m0s`},
		{strings.Repeat("x", 1000), `retryhttp: Retry-After "` + strings.Repeat("x", 64) + `...": neither delta-seconds nor an HTTP-date`},
	}
	for _, tt := range tests {
		if _, err := ParseRetryAfter(tt.value, now); err == nil || err.Error() != tt.want {
			t.Errorf("ParseRetryAfter(%.20q) error\n got %v\nwant %s", tt.value, err, tt.want)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, seed := range []string{"0", "120", "86400", "86401", "-5", "1.5", "", " 7 ",
		"Wed, 21 Oct 2015 07:28:00 GMT", "Wednesday, 21-Oct-15 07:28:00 GMT", "Wed Oct 21 07:28:00 2015",
		"99999999999999999999999"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		d, err := ParseRetryAfter(value, now)
		if err != nil {
			if d != 0 {
				t.Errorf("ParseRetryAfter(%q) = %v with error %v; want 0 with an error", value, d, err)
			}
			if errors.Is(err, ErrSyntax) == errors.Is(err, ErrRange) {
				t.Errorf("ParseRetryAfter(%q): %v must match exactly one of ErrSyntax, ErrRange", value, err)
			}
			// At most 64 bytes of the value are shown, each at most 4 bytes once quoted.
			if len(err.Error()) > 400 {
				t.Errorf("ParseRetryAfter(%.20q): an error of %d bytes", value, len(err.Error()))
			}
			return
		}
		if d < 0 || d > MaxRetryAfter {
			t.Errorf("ParseRetryAfter(%q) = %v, outside [0, %v]", value, d, MaxRetryAfter)
		}
		// A number of seconds reads back as itself.
		if n, perr := strconv.ParseUint(strings.Trim(value, " \t"), 10, 64); perr == nil && time.Duration(n)*time.Second != d {
			t.Errorf("ParseRetryAfter(%q) = %v, want %ds", value, d, n)
		}
	})
}

func response(header ...string) *http.Response {
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return &http.Response{StatusCode: http.StatusServiceUnavailable, Status: "503 Service Unavailable", Header: h}
}

func TestRetryAfter(t *testing.T) {
	date := now.Format(http.TimeFormat)
	tests := []struct {
		name   string
		resp   *http.Response
		want   time.Duration
		wantOK bool
	}{
		{"nil response", nil, 0, false},
		{"no header", response(), 0, false},
		{"seconds", response("Retry-After", "3"), 3 * time.Second, true},
		{"zero", response("Retry-After", "0"), 0, true},
		// The date is measured from the response's Date, not from this machine's clock
		// (years later).
		{"date from the Date header", response("Date", date, "Retry-After", now.Add(30*time.Second).Format(http.TimeFormat)), 30 * time.Second, true},
		{"date in the past of the Date header", response("Date", date, "Retry-After", now.Add(-time.Hour).Format(http.TimeFormat)), 0, true},
		{"garbage", response("Retry-After", "later"), 0, false},
		{"negative", response("Retry-After", "-1"), 0, false},
		{"absurd", response("Retry-After", "31536000"), 0, false},
		// Without a valid Date, against time.Now: years after the date, so it has passed.
		{"date without Date header", response("Retry-After", date), 0, true},
		{"date with a garbage Date header", response("Date", "yesterday", "Retry-After", date), 0, true},
	}
	for _, tt := range tests {
		if got, ok := RetryAfter(tt.resp); got != tt.want || ok != tt.wantOK {
			t.Errorf("%s: RetryAfter = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}

// TestRetryAfterAgainstClock: without a Date header, an HTTP-date is measured from
// time.Now (the bubble's fake clock, so exactly).
func TestRetryAfterAgainstClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		at := time.Now().Add(10 * time.Second).UTC().Format(http.TimeFormat)
		if got, ok := RetryAfter(response("Retry-After", at)); got != 10*time.Second || !ok {
			t.Errorf("RetryAfter = %v, %v; want 10s, true", got, ok)
		}
		if got, ok := RetryAfter(response("Date", "not a date", "Retry-After", at)); got != 10*time.Second || !ok {
			t.Errorf("with an invalid Date: RetryAfter = %v, %v; want 10s, true", got, ok)
		}
	})
}

// hinted is the delay-hint contract of package retry.
type hinted interface {
	error
	RetryAfter() time.Duration
}

func TestWithRetryAfter(t *testing.T) {
	base := errors.New("503 Service Unavailable")
	if err := WithRetryAfter(nil, response("Retry-After", "3")); err != nil {
		t.Errorf("WithRetryAfter(nil, resp) = %v, want nil", err)
	}
	for _, resp := range []*http.Response{nil, response(), response("Retry-After", "soon")} {
		if err := WithRetryAfter(base, resp); err != base {
			t.Errorf("WithRetryAfter(err, response without a valid Retry-After) = %v, want err itself", err)
		}
	}
	err := WithRetryAfter(base, response("Retry-After", "3"))
	var h hinted
	if !errors.As(err, &h) || h.RetryAfter() != 3*time.Second {
		t.Fatalf("WithRetryAfter(err, Retry-After: 3) carries no 3s hint: %v", err)
	}
	if !errors.Is(err, base) || err.Error() != base.Error() {
		t.Errorf("the hinted error %q does not stand for %q", err, base)
	}
}

// roundTripper is a fake transport: a server that answers from a script, with no network,
// so that the test runs inside a synctest bubble with exact time.
type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestWithRetryAfterInPolicy runs an HTTP client under a retry policy against a server
// that answers 503 with Retry-After in both forms, then 200: the pauses are the server's,
// not the policy's shorter ones, and a wait longer than the deadline ends the call at once.
func TestWithRetryAfterInPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		answers := []func() *http.Response{
			func() *http.Response { return response("Retry-After", "2") },
			func() *http.Response {
				now := time.Now().UTC()
				return response("Date", now.Format(http.TimeFormat), "Retry-After", now.Add(3*time.Second).Format(http.TimeFormat))
			},
			func() *http.Response {
				return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Header: http.Header{}}
			},
		}
		requests := 0
		client := &http.Client{Transport: roundTripper(func(*http.Request) (*http.Response, error) {
			resp := answers[min(requests, len(answers)-1)]()
			requests++
			resp.Body = io.NopCloser(strings.NewReader(""))
			return resp, nil
		})}
		get := func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://service.test/", nil)
			if err != nil {
				return retry.Permanent(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return WithRetryAfter(errors.New(resp.Status), resp)
			}
			return nil
		}

		var delays []time.Duration
		observe := retry.Hooks(hooks.Hooks{OnRetry: func(_ context.Context, _ hooks.Attempt, d time.Duration) {
			delays = append(delays, d)
		}})
		p := retry.MustNew(retry.Pause(100*time.Millisecond), observe)
		if err := p.Do(context.Background(), get); err != nil {
			t.Fatalf("Do = %v, want success", err)
		}
		if len(delays) != 2 || delays[0] != 2*time.Second || delays[1] != 3*time.Second {
			t.Errorf("pauses %v, want [2s 3s]", delays)
		}
		if elapsed := time.Since(start); elapsed != 5*time.Second {
			t.Errorf("the call took %v, want 5s", elapsed)
		}

		// A server asking for more time than the call has left: no wait at all.
		requests, delays = 0, nil
		start = time.Now()
		p = retry.MustNew(retry.Pause(100*time.Millisecond), retry.Deadline(time.Second), observe)
		err := p.Do(context.Background(), get)
		if !errors.Is(err, retry.ErrDeadline) || requests != 1 || len(delays) != 0 || time.Since(start) != 0 {
			t.Errorf("Do = %v after %d requests, pauses %v, %v; want ErrDeadline at once after 1 request",
				err, requests, delays, time.Since(start))
		}
	})
}

func BenchmarkParseRetryAfter(b *testing.B) {
	for _, value := range []string{"120", "Wed, 21 Oct 2015 07:28:00 GMT"} {
		b.Run(value[:3], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseRetryAfter(value, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
