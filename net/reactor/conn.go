package reactor

import (
	"fmt"

	"github.com/corofpm/corofpm/net/poll"
	"golang.org/x/sys/unix"
)

// DefaultWriteLimit is a new Conn's write limit: the bytes its write
// buffer may hold before the loop stops reading from the peer.
const DefaultWriteLimit = 256 << 10

// keepCap is the largest write buffer a drained Conn keeps for its next
// burst; a larger one is let go, so that a connection that once had a
// backlog does not hold its memory for ever.
const keepCap = 16 << 10

// Conn is a connected socket on the loop: non-blocking, read when the
// peer sends (OnData), written without blocking (Write keeps what the
// socket does not take and sends it when there is room).
type Conn struct {
	// loop runs the connection; every method belongs to its thread.
	loop *Loop
	// fd is the socket.
	fd int
	// peer names the other end, for logs and errors.
	peer string
	// out holds what Write was given and the socket did not take yet;
	// out[sent:] is still to send. It is nil for a connection with
	// nothing pending, which is most of them most of the time.
	out  []byte
	sent int
	// limit is the write limit (SetWriteLimit).
	limit int
	// watched is what the fd is watched for now, so that epoll_ctl is
	// called only when that changes, never on the echo path.
	watched poll.Events
	// paused is set while reading is stopped because out is past the
	// limit: backpressure.
	paused bool
	// closing is set by a Close with output still pending: the
	// connection reads no more and closes once out is sent.
	closing bool
	// closed is set once the fd is closed; the Conn is dead.
	closed bool
	// err is a write error, kept for the next turn to close with: Write
	// does not close the connection under its caller's feet.
	err error

	onData  func(*Conn, []byte)
	onClose func(*Conn, error)
	onPause func(*Conn, bool)

	// Context is the user's per-connection state (a session, a parser, a
	// coroutine waiting on this connection). The loop does not touch it.
	Context any
}

// NewConn adopts a connected socket (or any stream fd): it is made
// non-blocking and watched for reading. The Conn owns fd from then on.
// Set its callbacks before the loop turns again.
func (l *Loop) NewConn(fd int, peer string) (*Conn, error) {
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, fmt.Errorf("reactor: O_NONBLOCK on %s: %w", peer, err)
	}
	c := &Conn{loop: l, fd: fd, peer: peer, limit: DefaultWriteLimit, watched: poll.Readable,
		onData: func(*Conn, []byte) {}, onClose: func(*Conn, error) {}, onPause: func(*Conn, bool) {}}
	if err := l.add(fd, poll.Readable, c.ready, c); err != nil {
		return nil, fmt.Errorf("reactor: watch %s: %w", peer, err)
	}
	return c, nil
}

// OnData sets what is called with each read's bytes. p is the loop's
// read buffer: it is valid only until f returns; copy what must outlive
// the call.
func (c *Conn) OnData(f func(c *Conn, p []byte)) { c.onData = f }

// OnClose sets what is called once, when the connection is closed: err is
// nil for the peer's EOF or for Close, ErrStopped when the loop stopped,
// else the read or write error.
func (c *Conn) OnClose(f func(c *Conn, err error)) { c.onClose = f }

// OnPause sets what is called when backpressure stops reading from the
// peer (paused true: the write buffer passed the limit) and when reading
// resumes (paused false: the buffer drained). Swoole calls these
// onBufferFull and onBufferEmpty.
func (c *Conn) OnPause(f func(c *Conn, paused bool)) { c.onPause = f }

// SetWriteLimit sets how many bytes may wait in the write buffer before
// the loop stops reading from the peer; 0 means no limit, and the buffer
// grows with whatever the handler writes.
func (c *Conn) SetWriteLimit(n int) { c.limit = n }

// FD is the socket's fd, for setsockopt and the like.
func (c *Conn) FD() int { return c.fd }

// Peer names the other end.
func (c *Conn) Peer() string { return c.peer }

// Buffered is how many written bytes wait for room in the socket.
func (c *Conn) Buffered() int { return len(c.out) - c.sent }

// ANCHOR: ready
// ready is the connection's handler. Writable: send what is pending.
// Readable: read once, and hand the bytes to OnData. Hangup is treated as
// Readable, even while paused: the read says whether the peer is gone
// (0, EOF) and returns what it sent before going.
func (c *Conn) ready(ev poll.Events) {
	if ev&poll.Writable != 0 || c.err != nil {
		c.flush()
	}
	if c.closed || ev&(poll.Readable|poll.Hangup) == 0 {
		return
	}
	if c.closing { // a peer that hangs up does not get the rest
		c.shut(nil)
		return
	}
	n, err := unix.Read(c.fd, c.loop.rbuf)
	switch {
	case err == unix.EAGAIN || err == unix.EINTR:
		// Nothing after all; level-triggered epoll will say so again.
	case err != nil:
		c.shut(fmt.Errorf("reactor: read from %s: %w", c.peer, err))
	case n == 0:
		// EOF: the peer closed, or shut down its sending side. Either way
		// it is treated as gone: what is pending goes out if the socket
		// takes it now, and the rest is dropped. Waiting for it to drain
		// would have level-triggered epoll report the peer's shutdown
		// (EPOLLRDHUP) on every turn meanwhile: a busy loop.
		writeSome(c.fd, c.out[c.sent:])
		c.shut(nil)
	default:
		c.onData(c, c.loop.rbuf[:n])
	}
}

// ANCHOR_END: ready

// ANCHOR: write
// Write sends p without blocking. With nothing pending it writes to the
// socket at once, and in the usual case that is all; what the socket's
// send buffer has no room for is copied into the write buffer and sent
// when the fd is writable. A buffer past the write limit pauses reading
// from the peer until it drains. It fails only on a closed or closing
// Conn; a socket error closes the connection on the next turn (OnClose
// gets it) rather than inside the caller's callback.
func (c *Conn) Write(p []byte) (int, error) {
	if c.closed || c.closing {
		return 0, ErrClosed
	}
	rest := p
	if c.Buffered() == 0 && c.err == nil {
		n, err := writeSome(c.fd, p)
		c.err = err
		rest = p[n:]
	}
	if len(rest) > 0 && c.err == nil {
		if c.sent > 0 && c.sent >= len(c.out)/2 { // reuse the sent half
			c.out = c.out[:copy(c.out, c.out[c.sent:])]
			c.sent = 0
		}
		c.out = append(c.out, rest...)
		if c.limit > 0 && c.Buffered() >= c.limit && !c.paused {
			c.paused = true
			c.onPause(c, true)
		}
	}
	c.watch()
	return len(p), nil
}

// ANCHOR_END: write

// flush sends what is pending, as much as the socket takes. Drained, it
// resumes reading if backpressure had paused it, or ends a Close.
func (c *Conn) flush() {
	if c.err == nil && c.Buffered() > 0 {
		n, err := writeSome(c.fd, c.out[c.sent:])
		c.sent += n
		c.err = err
	}
	if c.err != nil {
		c.shut(fmt.Errorf("reactor: write to %s: %w", c.peer, c.err))
		return
	}
	if c.Buffered() == 0 {
		c.sent = 0
		c.out = c.out[:0]
		if cap(c.out) > keepCap {
			c.out = nil
		}
		if c.closing {
			c.shut(nil)
			return
		}
		if c.paused {
			c.paused = false
			c.onPause(c, false)
		}
	}
	c.watch()
}

// ANCHOR: watch
// watch tells epoll what the connection waits for now: to read, unless
// paused or closing; to write, while output is pending or an error waits
// to be reported. epoll_ctl runs only when that changes.
func (c *Conn) watch() {
	if c.closed {
		return
	}
	var want poll.Events
	if !c.paused && !c.closing {
		want |= poll.Readable
	}
	if c.Buffered() > 0 || c.err != nil {
		want |= poll.Writable
	}
	if want != c.watched {
		if err := c.loop.ModFD(c.fd, want); err != nil && c.err == nil {
			c.err = err
		}
		c.watched = want
	}
}

// ANCHOR_END: watch

// Close closes the connection once what was written has been sent; it
// reads nothing more meanwhile. A peer that never reads keeps a closing
// connection open until the loop stops. OnClose runs when it is done.
func (c *Conn) Close() error {
	if c.closed || c.closing {
		return nil
	}
	if c.Buffered() == 0 {
		c.shut(nil)
		return nil
	}
	c.closing = true
	c.watch()
	return nil
}

// shut closes the fd now, out of epoll first, and calls OnClose.
func (c *Conn) shut(err error) {
	if c.closed {
		return
	}
	c.closed = true
	c.loop.DelFD(c.fd)
	unix.Close(c.fd)
	c.out = nil
	c.onClose(c, err)
}

// writeSome writes p until it is all written or the socket's send buffer
// is full (EAGAIN), and says how much it wrote.
func writeSome(fd int, p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := unix.Write(fd, p[done:])
		switch {
		case err == unix.EAGAIN:
			return done, nil
		case err == unix.EINTR:
			continue
		case err != nil:
			return done, err
		}
		done += n
	}
	return done, nil
}
