package retryhttp

import (
	"context"
	"io"
)

// buffered is the body of a drained response, read whole into memory.
type buffered struct {
	data []byte
	off  int
}

func (b *buffered) Read(p []byte) (int, error) {
	if b.off >= len(b.data) {
		return 0, io.EOF
	}
	n := copy(p, b.data[b.off:])
	b.off += n
	return n, nil
}

func (b *buffered) Close() error { return nil }

// prefixed is the body of a response that was drained in part: the bytes read, then the
// rest from the connection.
type prefixed struct {
	head []byte
	io.ReadCloser
}

func (b *prefixed) Read(p []byte) (int, error) {
	if len(b.head) > 0 {
		n := copy(p, b.head)
		b.head = b.head[n:]
		return n, nil
	}
	return b.ReadCloser.Read(p)
}

// tracked is the body of the response RoundTrip returns when the call holds resources
// for it: closing it releases them.
type tracked struct {
	rc      io.ReadCloser
	stop    func() bool             // unregisters the cancel of the call's end, if set
	cancel  context.CancelCauseFunc // the context the body reads under, if not the call's
	release context.CancelFunc      // the call's context
	ctx     context.Context         // the call's context
}

// Read reads the body; once the call's context is done, the error is its error
// (context.DeadlineExceeded for the policy's deadline), not the context.Canceled of the
// Transport's own cancel.
func (b *tracked) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		err = withCause(err, b.ctx)
	}
	return n, err
}

func (b *tracked) Close() error {
	err := b.rc.Close()
	if b.stop != nil {
		b.stop()
	}
	if b.cancel != nil {
		b.cancel(nil)
	}
	b.release()
	return err
}

// trackedRW is tracked for the writable body of a 101 Switching Protocols response.
type trackedRW struct {
	tracked
	w io.Writer
}

func (b *trackedRW) Write(p []byte) (int, error) { return b.w.Write(p) }
