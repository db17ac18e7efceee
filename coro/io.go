package coro

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/corofpm/corofpm/net/poll"
	"github.com/corofpm/corofpm/net/sock"
	"golang.org/x/sys/unix"
)

// ErrBusy is returned by a Conn's Read (or Write) while another coroutine
// is parked in a Read (or Write) on it: whose turn the bytes would be is
// undefined, so it is refused, as Swoole refuses a socket "bound to
// another coroutine".
var ErrBusy = errors.New("coro: another coroutine is already waiting on this fd")

// Conn is a hooked fd: a socket or a pipe in non-blocking mode whose Read
// and Write, called from a coroutine, look blocking to the coroutine but
// park it, not the thread, when the kernel says EAGAIN. It implements
// io.Reader, io.Writer and io.Closer; its methods are called from the
// coroutines of one scheduler.
type Conn struct {
	s *Scheduler
	p *Poller
	// fd is the descriptor, -1 once closed: a closed Conn must never touch
	// the number again, which the kernel may have given to another file.
	fd   int
	peer string
	// reader and writer are the coroutines parked on this fd, at most one
	// each, resumed by ready; rtok and wtok are their tokens, reused from
	// one wait to the next so that a wait allocates nothing.
	reader, writer *Token
	rtok, wtok     Token
	// registered is set once the fd is in the poller (the first wait).
	registered bool
	// readWhy and writeWhy are their Park reasons ("read fd 7 from
	// 127.0.0.1:80"), built once, since a Sprintf per wait would cost more
	// than the wait.
	readWhy, writeWhy string
	// readDeadline and writeDeadline bound each wait; zero means none.
	readDeadline, writeDeadline time.Time
	// drained is set once a read has emptied the receive buffer (EAGAIN,
	// or fewer bytes than asked for), and cleared by the next readable
	// edge: until then a Read parks at once instead of spending a
	// read(2) to hear EAGAIN. Go's runtime poller keeps the same bit.
	drained bool
	// hangup is set once the peer's close was reported: its edge has
	// passed, so from then on only EAGAIN counts as drained, never a
	// short read, or the EOF behind the last bytes would never be read.
	hangup bool
}

// NewConn hooks fd: makes it non-blocking, for p to watch. The Conn owns
// fd from then on; peer names the other end in errors.
func NewConn(s *Scheduler, p *Poller, fd int, peer string) (*Conn, error) {
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, fmt.Errorf("coro: O_NONBLOCK on fd %d (%s): %w", fd, peer, err)
	}
	return newConn(s, p, fd, peer), nil
}

// newConn is NewConn for an fd already non-blocking (accept4 with
// SOCK_NONBLOCK). The fd joins the poller only when a Read or Write first
// has to wait: a short request that is already there when accepted, as
// from nginx, is read, answered and closed with no epoll_ctl at all.
func newConn(s *Scheduler, p *Poller, fd int, peer string) *Conn {
	return &Conn{s: s, p: p, fd: fd, peer: peer}
}

// FD is the descriptor, -1 after Close.
func (c *Conn) FD() int { return c.fd }

// Peer names the other end.
func (c *Conn) Peer() string { return c.peer }

// SetReadDeadline bounds every later wait of Read: one parked after t
// fails with ErrTimeout. The zero time removes the bound.
func (c *Conn) SetReadDeadline(t time.Time) { c.readDeadline = t }

// SetWriteDeadline is the same for Write.
func (c *Conn) SetWriteDeadline(t time.Time) { c.writeDeadline = t }

// SetDeadline sets both.
func (c *Conn) SetDeadline(t time.Time) { c.readDeadline, c.writeDeadline = t, t }

// ANCHOR: read
// Read reads what has arrived, at least one byte: if nothing has, it
// parks the calling coroutine until the fd is readable, and the thread
// runs the other coroutines meanwhile. It returns io.EOF once the peer has
// closed its side.
func (c *Conn) Read(p []byte) (int, error) {
	for {
		if c.fd < 0 {
			return 0, c.closedErr("read from")
		}
		if c.drained {
			if err := c.wait(&c.reader, &c.rtok, false, c.readDeadline); err != nil {
				return 0, fmt.Errorf("coro: read from %s: %w", c.peer, err)
			}
			continue // readable, or woken for nothing: try
		}
		n, err := unix.Read(c.fd, p)
		switch {
		case err == unix.EAGAIN:
			c.drained = true
			continue
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, fmt.Errorf("coro: read from %s: %w", c.peer, err)
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		// A stream socket or a pipe gives fewer bytes than asked only
		// when it has no more: what arrives next will raise an edge.
		c.drained = n < len(p) && !c.hangup
		return n, nil
	}
}

// ANCHOR_END: read

// ReadNow reads what has already arrived and never parks: 0, nil when
// nothing has; 0, io.EOF when the peer has closed. It is net/sock's
// contract, which lets a worker notice an aborted request mid-script.
func (c *Conn) ReadNow(p []byte) (int, error) {
	for {
		if c.fd < 0 {
			return 0, c.closedErr("read from")
		}
		n, err := unix.Read(c.fd, p)
		switch {
		case err == unix.EAGAIN:
			c.drained = true
			return 0, nil
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, fmt.Errorf("coro: read from %s: %w", c.peer, err)
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		c.drained = n < len(p) && !c.hangup
		return n, nil
	}
}

// WaitReadable parks the calling coroutine until the fd has something to
// read, or its peer closed it, without reading: so that a server can wait
// on thousands of connections with no buffer lent to any (fastcgi's
// Waiter). After a ReadNow that found nothing it waits for the next
// readable edge; otherwise it asks the kernel with a one-byte MSG_PEEK.
func (c *Conn) WaitReadable() error {
	for {
		if c.fd < 0 {
			return c.closedErr("wait to read from")
		}
		if c.drained {
			if err := c.wait(&c.reader, &c.rtok, false, c.readDeadline); err != nil {
				return fmt.Errorf("coro: read from %s: %w", c.peer, err)
			}
			continue // readable, or woken for nothing: look
		}
		var b [1]byte
		_, _, err := unix.Recvfrom(c.fd, b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		switch err {
		case unix.EAGAIN:
			c.drained = true
		case unix.EINTR:
		default:
			return nil // bytes, an EOF, or an error: the next read says which
		}
	}
}

// ANCHOR: write
// Write writes all of p. A short write is the normal case on a socket
// whose send buffer is full: it writes what fits, parks until the fd is
// writable again, and goes on. On error it returns how much was written.
func (c *Conn) Write(p []byte) (int, error) { return c.send(p, 0) }

// WriteLast is Write for the last bytes before Close: send(2) with
// MSG_MORE holds back their last partial segment, and Close's FIN leaves
// in it (fastcgi.LastWriter). Close right after, or they wait up to
// 200 ms for the kernel's timer.
func (c *Conn) WriteLast(p []byte) (int, error) { return c.send(p, unix.MSG_MORE) }

// send is write(2), or send(2) with flags (on a socket only), until all of
// p is written.
func (c *Conn) send(p []byte, flags int) (int, error) {
	done := 0
	for done < len(p) {
		if c.fd < 0 {
			return done, c.closedErr("write to")
		}
		n, err := sock.SendSome(c.fd, p[done:], flags)
		switch {
		case err == unix.EAGAIN:
			if err := c.wait(&c.writer, &c.wtok, true, c.writeDeadline); err != nil {
				return done, fmt.Errorf("coro: write to %s: %w", c.peer, err)
			}
		case err == unix.EINTR:
		case err != nil:
			return done, fmt.Errorf("coro: write to %s: %w", c.peer, err)
		default:
			done += n
		}
	}
	return done, nil
}

// ANCHOR_END: write

// ANCHOR: wait
// wait parks the running coroutine in *slot until ready resumes it, the
// deadline passes (ErrTimeout) or the coroutine is canceled.
func (c *Conn) wait(slot **Token, tok *Token, write bool, deadline time.Time) error {
	why := c.why(write)
	co := c.s.Current()
	if co == nil {
		panic("coro: IO on a Conn from outside a coroutine: " + why)
	}
	if !c.registered {
		// Edge-triggered: an fd already ready when added raises its
		// event at once, so nothing that arrived since the EAGAIN is lost.
		if err := c.p.register(c.fd, c); err != nil {
			return fmt.Errorf("coro: fd %d (%s): %w", c.fd, c.peer, err)
		}
		c.registered = true
	}
	if *slot != nil {
		return ErrBusy
	}
	timeout := Forever
	if !deadline.IsZero() {
		if timeout = time.Until(deadline); timeout <= 0 {
			return ErrTimeout
		}
	}
	co.Repark(tok, why)
	*slot = tok
	_, err := tok.Wait(timeout)
	if *slot == tok { // timed out or canceled: ready did not take it
		*slot = nil
	}
	return err
}

// why is the Park reason of a wait ("read fd 7 from 127.0.0.1:80"), made
// once, on the first wait: a Sprintf per connection would cost more than
// a short request.
func (c *Conn) why(write bool) string {
	if write {
		if c.writeWhy == "" {
			c.writeWhy = fmt.Sprintf("write fd %d to %s", c.fd, c.peer)
		}
		return c.writeWhy
	}
	if c.readWhy == "" {
		c.readWhy = fmt.Sprintf("read fd %d from %s", c.fd, c.peer)
	}
	return c.readWhy
}

// ready is the Poller's call for this fd: resume whoever waits for what
// happened. A hang-up wakes both, to find the EOF or the error.
func (c *Conn) ready(ev poll.Events) {
	if ev&(poll.Readable|poll.Hangup) != 0 {
		c.drained = false
	}
	if ev&poll.Hangup != 0 {
		c.hangup = true
	}
	if ev&(poll.Readable|poll.Hangup) != 0 && c.reader != nil {
		tok := c.reader
		c.reader = nil
		tok.Resume(nil)
	}
	if ev&(poll.Writable|poll.Hangup) != 0 && c.writer != nil {
		tok := c.writer
		c.writer = nil
		tok.Resume(nil)
	}
}

// ANCHOR_END: wait

// Close closes the fd, which takes it out of the epoll set too. A
// coroutine parked on it wakes and fails with ErrClosed.
func (c *Conn) Close() error {
	if c.fd < 0 {
		return c.closedErr("close")
	}
	fd := c.fd
	c.fd = -1
	if c.registered {
		// No epoll_ctl(DEL): epoll drops a file when its last fd closes,
		// and a Conn's fd is its own (accepted or dialled close-on-exec).
		// Were it shared after all (a dup), its events would find no
		// handler, or the next owner of the number, who retries and
		// gets EAGAIN: nothing worse than a wake-up for nothing.
		c.p.forget(fd)
	}
	err := unix.Close(fd)
	c.ready(poll.Hangup)
	if err != nil {
		return fmt.Errorf("coro: close fd %d (%s): %w", fd, c.peer, err)
	}
	return nil
}

func (c *Conn) closedErr(op string) error {
	return fmt.Errorf("coro: %s %s: %w", op, c.peer, ErrClosed)
}
