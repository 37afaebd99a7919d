package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestServerAnswers(t *testing.T) {
	plan := map[int]answer{
		1: {kind: answerOK},
		2: {kind: answerUnavailable},
		3: {kind: answerThrottled, retryAfter: 2 * time.Second},
		4: {kind: answerNotFound},
		5: {kind: answerOK, latency: time.Millisecond},
	}
	srv, err := startServer(func(call, attempt int) answer {
		if attempt != 9 {
			t.Errorf("call %d: the service saw attempt %d, the client sent 8 resends", call, attempt)
		}
		return plan[call]
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.close(context.Background())
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}

	for _, tt := range []struct {
		call       int
		status     int
		retryAfter string
	}{
		{1, 200, ""},
		{2, 503, ""},
		{3, 429, "2"},
		{4, 404, ""},
		{5, 200, ""},
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.url+"/item/42", nil)
		req.Header.Set(headerCall, strconv.Itoa(tt.call))
		req.Header.Set(headerResend, "8")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("call %d: %v", tt.call, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || resp.Header.Get("Retry-After") != tt.retryAfter {
			t.Errorf("call %d (%v): %d Retry-After %q, want %d %q", tt.call, plan[tt.call],
				resp.StatusCode, resp.Header.Get("Retry-After"), tt.status, tt.retryAfter)
		}
	}

	// Without the headers the service cannot know the plan.
	resp, err := c.Get(srv.url + "/item/42")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("request without headers: %d, want 400", resp.StatusCode)
	}
}

// TestServerHang checks that a hanging answer lasts until the client gives up, and that
// closing the service lets go of the requests still hanging.
func TestServerHang(t *testing.T) {
	entered := make(chan int, 2) // the calls whose request reached the handler
	srv, err := startServer(func(call, _ int) answer {
		entered <- call
		return answer{kind: answerHang}
	})
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	get := func(ctx context.Context, call string) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.url, nil)
		req.Header.Set(headerCall, call)
		resp, err := c.Do(req)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		return err
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := get(ctx, "1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hanging request ended with %v, want the client's deadline", err)
	}

	done := make(chan error, 1)
	go func() { done <- get(context.Background(), "2") }()
	for call := range entered {
		if call == 2 {
			break
		}
	}
	// The request hangs in the handler: close must let it go rather than wait for it.
	srv.close(context.Background())
	if err := <-done; err != nil {
		t.Errorf("the hanging request ended with %v, want an empty answer", err)
	}
}

func TestAnswerString(t *testing.T) {
	for _, tt := range []struct {
		a    answer
		want string
	}{
		{answer{}, "200"},
		{answer{kind: answerUnavailable}, "503"},
		{answer{kind: answerThrottled, retryAfter: 3 * time.Second}, "429 Retry-After: 3"},
		{answer{kind: answerNotFound}, "404"},
		{answer{kind: answerHang}, "no answer"},
		{answer{kind: 99}, "answer(99)"},
	} {
		if got := tt.a.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.a, got, tt.want)
		}
	}
}

// TestServerReservation: a POST is answered as planned only with its Idempotency-Key and
// its whole body.
func TestServerReservation(t *testing.T) {
	srv, err := startServer(func(_, attempt int) answer {
		if attempt != 2 {
			t.Errorf("the service saw attempt %d, the client sent 1 resend", attempt)
		}
		return answer{kind: answerUnavailable}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.close(context.Background())
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	for _, tt := range []struct {
		body, key string
		want      int
	}{
		{reservation, "k1", http.StatusServiceUnavailable},
		{reservation, "", http.StatusBadRequest},
		{`{"item":42}`, "k1", http.StatusBadRequest},
		{"", "k1", http.StatusBadRequest},
	} {
		req, _ := http.NewRequest(http.MethodPost, srv.url+"/item/42", strings.NewReader(tt.body))
		req.Header.Set(headerCall, "1")
		req.Header.Set(headerResend, "1")
		if tt.key != "" {
			req.Header.Set("Idempotency-Key", tt.key)
		}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("POST %q key %q: %d, want %d", tt.body, tt.key, resp.StatusCode, tt.want)
		}
	}
}
