package coro

import (
	"fmt"
	"slices"

	"github.com/corofpm/corofpm/net/poll"
	"github.com/corofpm/corofpm/net/sock"
	"golang.org/x/sys/unix"
)

// Listener is a hooked listening socket: Accept parks the coroutine, not
// the thread, until a connection is waiting. Several coroutines may wait
// in Accept at once, as a pool of request coroutines does.
type Listener struct {
	s  *Scheduler
	p  *Poller
	ln *sock.Listener
	// acceptors are the coroutines parked in Accept, first come first
	// served.
	acceptors []*Token
	// readable is set when the poller reported a connection waiting, and
	// cleared by the accept4 that takes one or says EAGAIN.
	readable bool
	closed   bool
	// paused is set while the socket is out of the poller (Pause).
	paused bool
	why    string
}

// NewListener hooks ln: makes it non-blocking and registers it with p,
// with EPOLLEXCLUSIVE, since worker processes that inherited the same
// socket each watch it from their own epoll and a connection should wake
// one of them, not all (chapter 04). O_NONBLOCK belongs to the open file,
// so every process sharing ln sees it: they must all accept this way.
func NewListener(s *Scheduler, p *Poller, ln *sock.Listener) (*Listener, error) {
	if err := ln.SetNonblock(true); err != nil {
		return nil, fmt.Errorf("coro: %w", err)
	}
	l := &Listener{s: s, p: p, ln: ln, why: fmt.Sprintf("accept fd %d on %s", ln.FD, ln.Addr)}
	if err := p.registerShared(ln.FD, l); err != nil {
		return nil, fmt.Errorf("coro: listen on %s: %w", ln.Addr, err)
	}
	return l, nil
}

// Addr is the listening address.
func (l *Listener) Addr() string { return l.ln.Addr }

// ANCHOR: accept
// Accept returns the next connection, hooked, parking c until one is
// waiting. It fails with ErrClosed once the Listener is closed.
func (l *Listener) Accept(c *Co) (*Conn, error) {
	if err := l.Resume(); err != nil {
		return nil, err
	}
	for {
		if l.closed {
			return nil, fmt.Errorf("coro: accept on %s: %w", l.ln.Addr, ErrClosed)
		}
		if !l.readable {
			if err := l.wait(c); err != nil {
				return nil, fmt.Errorf("coro: accept on %s: %w", l.ln.Addr, err)
			}
			continue
		}
		fd, peer, err := l.ln.Accept4(unix.SOCK_CLOEXEC | unix.SOCK_NONBLOCK)
		switch {
		case err == unix.EAGAIN: // another process took it
			l.readable = false
			continue
		case err == unix.EINTR || err == unix.ECONNABORTED:
			continue
		case err != nil:
			return nil, fmt.Errorf("coro: accept on %s: %w", l.ln.Addr, err)
		}
		// One connection per report. The socket is level-triggered
		// (poll.AddExclusive): while more wait, the next epoll_wait says
		// so, and another accept4 now would, one connection a wake-up,
		// only hear EAGAIN.
		l.readable = false
		return newConn(l.s, l.p, fd, peer), nil // SOCK_NONBLOCK already
	}
}

// ANCHOR_END: accept

func (l *Listener) wait(c *Co) error {
	tok := c.Park(l.why)
	l.acceptors = append(l.acceptors, tok)
	_, err := tok.Wait(Forever)
	if i := slices.Index(l.acceptors, tok); i >= 0 { // canceled: still queued
		l.acceptors = slices.Delete(l.acceptors, i, i+1)
	}
	return err
}

// ready wakes the first acceptor when a connection is waiting. With none
// parked, the socket leaves the poller until the next Accept: it is
// level-triggered, and would be reported on every turn of the loop.
func (l *Listener) ready(ev poll.Events) {
	if ev&(poll.Readable|poll.Hangup) == 0 {
		return
	}
	l.readable = true
	if len(l.acceptors) == 0 {
		l.Pause()
		return
	}
	l.wakeOne()
}

func (l *Listener) wakeOne() {
	if len(l.acceptors) == 0 {
		return
	}
	tok := l.acceptors[0]
	l.acceptors = slices.Delete(l.acceptors, 0, 1)
	tok.Resume(nil)
}

// Pause takes the socket out of the poller, for a server that cannot take
// another connection now. The socket is shared with other processes, each
// waiting in its own epoll with EPOLLEXCLUSIVE, and the kernel wakes one
// of them per connection: a full process left in that queue would take
// the wake-up and leave the connection in the backlog while another
// process has room (nginx's ngx_disable_accept_events does the same).
// Accept resumes it.
func (l *Listener) Pause() {
	if l.paused || l.closed {
		return
	}
	l.p.unregister(l.ln.FD)
	l.paused = true
}

// Resume puts a paused socket back in the poller; a connection already
// waiting raises an event at once.
func (l *Listener) Resume() error {
	if !l.paused || l.closed {
		return nil
	}
	if err := l.p.registerShared(l.ln.FD, l); err != nil {
		return fmt.Errorf("coro: listen on %s: %w", l.ln.Addr, err)
	}
	l.paused = false
	return nil
}

// Close unregisters and closes the socket; every coroutine parked in
// Accept wakes and fails with ErrClosed.
func (l *Listener) Close() error {
	if l.closed {
		return nil
	}
	l.closed = true
	if !l.paused {
		l.p.unregister(l.ln.FD)
	}
	err := l.ln.Close()
	for len(l.acceptors) > 0 {
		l.wakeOne()
	}
	return err
}
