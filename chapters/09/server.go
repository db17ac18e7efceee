package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/corofpm/corofpm/net/poll"
	"github.com/corofpm/corofpm/net/sock"
	"golang.org/x/sys/unix"
)

// server is an echo server on one Poller: one goroutine on one thread, one
// listening socket and every connection non-blocking, none of them ever
// waited on alone. Each turn of the loop is one Wait and the dispatch of
// what it reported.
type server struct {
	// p is the multiplexer this server stands on: select, poll or epoll.
	p poll.Poller
	// ln is the listening socket, non-blocking and watched for Readable:
	// a connection is waiting for accept(2).
	ln *sock.Listener
	// conns are the accepted connections by fd, so that an event's fd
	// finds its connection.
	conns map[int]*conn
	// events is Wait's buffer, reused on every turn.
	events []poll.Event
	// buf is the read buffer, shared by every connection since the loop
	// handles one at a time. Its size is what one read(2) asks for.
	buf []byte
	// drain makes a readable connection be read until EAGAIN, rather than
	// once per event: what an edge-triggered poller requires.
	drain bool
	// lastWait and lastTurn are how long the last turn's Wait, and the
	// whole turn (Wait and dispatch), took: what the chapter measures.
	lastWait, lastTurn time.Duration
	// reads counts readable events handled on connections, to show how
	// many times the handler ran.
	reads int
	// log, when set, is told about each connection that comes and goes.
	log func(format string, args ...any)
}

// conn is one accepted connection.
type conn struct {
	// c is the socket; its fd is non-blocking.
	c *sock.Conn
	// pending are echo bytes the send buffer had no room for. While there
	// are some, the connection is watched for Writable instead of
	// Readable: it reads nothing more from a client that does not read
	// its replies (backpressure).
	pending []byte
}

// newServer starts an echo server on backend, listening on addr. chunk is
// the size of one read(2).
func newServer(backend, addr string, chunk int, drain bool) (*server, error) {
	p, err := poll.New(backend)
	if err != nil {
		return nil, err
	}
	ln, err := sock.Listen(addr, 4096)
	if err == nil {
		err = ln.SetNonblock(true)
	}
	if err == nil {
		err = p.Add(ln.FD, poll.Readable)
	}
	if err != nil {
		p.Close()
		if ln != nil {
			ln.Close()
		}
		return nil, err
	}
	return &server{p: p, ln: ln, conns: map[int]*conn{}, events: make([]poll.Event, 128),
		buf: make([]byte, chunk), drain: drain}, nil
}

// ANCHOR: turn
// turn is one turn of the event loop: wait until something is ready (or
// timeout passes), then handle every fd that is. It returns how many fds
// were ready.
func (s *server) turn(timeout time.Duration) (int, error) {
	start := time.Now()
	n, err := s.p.Wait(s.events, timeout)
	s.lastWait = time.Since(start)
	if err != nil {
		return 0, err
	}
	for _, ev := range s.events[:n] {
		if ev.FD == s.ln.FD {
			err = errors.Join(err, s.accept())
			continue
		}
		if c := s.conns[ev.FD]; c != nil {
			err = errors.Join(err, s.handle(c, ev.Events))
		}
	}
	s.lastTurn = time.Since(start)
	return n, err
}

// ANCHOR_END: turn

// ANCHOR: accept
// accept takes every connection waiting on the listening socket, makes it
// non-blocking and watches it. A Poller that refuses an fd (select past
// FD_SETSIZE) refuses the connection: it is closed, and the error says why.
func (s *server) accept() error {
	for {
		c, err := s.ln.AcceptNow()
		if errors.Is(err, sock.ErrWouldBlock) {
			return nil // the queue is empty
		}
		if err != nil {
			return err
		}
		if err := unix.SetNonblock(c.FD, true); err != nil {
			c.Close()
			return fmt.Errorf("O_NONBLOCK on %s: %w", c.Peer, err)
		}
		if err := s.p.Add(c.FD, poll.Readable); err != nil {
			c.Close()
			return fmt.Errorf("connection from %s refused: %w", c.Peer, err)
		}
		s.conns[c.FD] = &conn{c: c}
		if s.log != nil {
			s.log("fd %d: %s connected, %d connections", c.FD, c.Peer, len(s.conns))
		}
	}
}

// ANCHOR_END: accept

// ANCHOR: handle
// handle serves one ready connection: it flushes what a previous write
// left, then reads and echoes. It reads once per event, or until EAGAIN
// with drain: with a level-triggered poller, unread bytes make the fd ready
// again on the next Wait; with an edge-triggered one they do not.
func (s *server) handle(c *conn, ev poll.Events) error {
	if ev&poll.Writable != 0 {
		if err := s.flush(c); err != nil {
			return s.close(c)
		}
		if len(c.pending) > 0 {
			return nil // still no room for all of it
		}
		if err := s.p.Modify(c.c.FD, poll.Readable); err != nil {
			return err
		}
	}
	if ev&(poll.Readable|poll.Hangup) == 0 {
		return nil
	}
	s.reads++
	for {
		n, err := unix.Read(c.c.FD, s.buf)
		switch {
		case err == unix.EAGAIN:
			return nil // read everything there was
		case err == unix.EINTR:
			continue
		case err != nil || n == 0:
			return s.close(c) // n == 0: the peer closed, EOF
		}
		if err := s.send(c, s.buf[:n]); err != nil {
			return s.close(c)
		}
		if len(c.pending) > 0 {
			return s.p.Modify(c.c.FD, poll.Writable) // resume when there is room
		}
		if !s.drain {
			return nil
		}
	}
}

// ANCHOR_END: handle

// send echoes p, and keeps what the send buffer does not take. An error
// (EPIPE, ECONNRESET: the client is gone) is the caller's to act on.
func (s *server) send(c *conn, p []byte) error {
	n, err := writeSome(c.c.FD, p)
	c.pending = append(c.pending, p[n:]...)
	return err
}

// flush writes what is pending, as much as the send buffer takes.
func (s *server) flush(c *conn) error {
	n, err := writeSome(c.c.FD, c.pending)
	c.pending = c.pending[:copy(c.pending, c.pending[n:])]
	return err
}

// writeSome writes p until done or until the send buffer is full
// (EAGAIN), and says how much it wrote.
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

// close forgets a connection: out of the Poller first, then closed.
func (s *server) close(c *conn) error {
	err := s.p.Remove(c.c.FD)
	c.c.Close()
	delete(s.conns, c.c.FD)
	if s.log != nil {
		s.log("fd %d: %s closed, %d connections", c.c.FD, c.c.Peer, len(s.conns))
	}
	return err
}

// stop closes every connection, the Poller and the listening socket.
func (s *server) stop() {
	for _, c := range s.conns {
		c.c.Close()
	}
	s.p.Close()
	s.ln.Close()
}
