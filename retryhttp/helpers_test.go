package retryhttp_test

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/retry"
)

// seen is one request as the server received it.
type seen struct {
	method string
	body   string
	header http.Header
}

// server is a real HTTP server on loopback that answers request i with steps[i] (the
// last step for every request past the script) and records what it received and how
// many connections it accepted.
type server struct {
	*httptest.Server
	mu    sync.Mutex
	steps []http.HandlerFunc
	reqs  []seen
	conns atomic.Int32
}

func newServer(t *testing.T, steps ...http.HandlerFunc) *server {
	t.Helper()
	s := &server{steps: steps}
	s.Server = httptest.NewUnstartedServer(s)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	i := len(s.reqs)
	s.reqs = append(s.reqs, seen{method: r.Method, body: string(body), header: r.Header.Clone()})
	step := s.steps[min(i, len(s.steps)-1)]
	s.mu.Unlock()
	step(w, r)
}

// requests returns what the server received so far.
func (s *server) requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.reqs...)
}

// reply answers code with body and header pairs.
func reply(code int, body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

// hangUp closes the connection without an answer: a transport error for the client.
func hangUp(w http.ResponseWriter, _ *http.Request) {
	c, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = c.Close()
	}
}

// record is what the hooks saw of a call.
type record struct {
	mu       sync.Mutex
	names    []string
	outcomes []hooks.Outcome
	attempts []int
	errs     []error // the attempts' errors
}

func (r *record) hooks() retry.Option {
	return retry.Hooks(hooks.Hooks{
		OnStart: func(_ context.Context, c hooks.Call) context.Context {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.names = append(r.names, c.Name)
			return nil
		},
		OnAttemptEnd: func(_ context.Context, a hooks.Attempt) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.errs = append(r.errs, a.Err)
		},
		OnDone: func(_ context.Context, res hooks.Result) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.outcomes = append(r.outcomes, res.Outcome)
			r.attempts = append(r.attempts, res.Attempts)
		},
	})
}

// last returns the outcome and attempts of the last call.
func (r *record) last() (hooks.Outcome, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.outcomes) == 0 {
		return 0, 0
	}
	return r.outcomes[len(r.outcomes)-1], r.attempts[len(r.attempts)-1]
}

// readBody reads and closes resp's body.
func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("reading the body: %v", err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Errorf("closing the body: %v", err)
	}
	return string(b)
}

// pipeNet is an in-memory network for tests in a synctest bubble, where real sockets
// would not let the fake clock advance: an http.Server serves its listener and an
// http.Transport dials it.
type pipeNet struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
	dials atomic.Int32
}

func newPipeNet() *pipeNet { return &pipeNet{conns: make(chan net.Conn), done: make(chan struct{})} }

func (l *pipeNet) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeNet) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeNet) Addr() net.Addr { return pipeAddr{} }

func (l *pipeNet) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	l.dials.Add(1)
	client, srv := net.Pipe()
	select {
	case l.conns <- srv:
		return client, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// serveInBubble serves h on an in-memory network and returns a transport that reaches
// it at http://service.test. Call it inside synctest.Test: stop ends the server and the
// transport's connections, so that the bubble's goroutines end.
func serveInBubble(h http.Handler) (tr *http.Transport, stop func()) {
	l := newPipeNet()
	srv := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	tr = &http.Transport{DialContext: l.dial}
	return tr, func() {
		tr.CloseIdleConnections()
		_ = srv.Close()
		<-done
	}
}

// newGet is a GET of url under ctx.
func newGet(t *testing.T, ctx context.Context, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// untrustedTLSServer is a TLS server whose certificate the default transport does not
// trust.
func untrustedTLSServer(t *testing.T) *httptest.Server {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the client's refusal of the certificate
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}
