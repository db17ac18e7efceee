//go:build labref

// Package lab09 is the lab of chapter 09: an echo server on epoll, one
// goroutine serving every connection, that works level- and
// edge-triggered and never blocks.
package lab09

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/corofpm/corofpm/net/poll"
	"github.com/corofpm/corofpm/net/sock"
	"golang.org/x/sys/unix"
)

// This is the reference solution, built only with -tags labref so that CI
// can check the grader passes on correct code. Read it after your own.

// conn is one client and the echo bytes its send buffer had no room for.
type conn struct {
	c       *sock.Conn
	pending []byte
}

func Serve(p poll.Poller, ln *sock.Listener, stop *atomic.Bool) error {
	if err := ln.SetNonblock(true); err != nil {
		return err
	}
	if err := p.Add(ln.FD, poll.Readable); err != nil {
		return err
	}
	defer p.Remove(ln.FD)
	conns := map[int]*conn{}
	drop := func(c *conn) {
		p.Remove(c.c.FD)
		delete(conns, c.c.FD)
		c.c.Close()
	}
	defer func() {
		for _, c := range conns {
			drop(c)
		}
	}()
	events, buf := make([]poll.Event, 64), make([]byte, 16<<10)
	for !stop.Load() {
		n, err := p.Wait(events, 20*time.Millisecond)
		if err != nil {
			return err
		}
		for _, ev := range events[:n] {
			if ev.FD == ln.FD {
				if err := accept(p, ln, conns); err != nil {
					return err
				}
			} else if c := conns[ev.FD]; c != nil && c.serve(p, buf) != nil {
				drop(c)
			}
		}
	}
	return nil
}

// accept takes every connection waiting on ln.
func accept(p poll.Poller, ln *sock.Listener, conns map[int]*conn) error {
	for {
		c, err := ln.AcceptNow()
		if errors.Is(err, sock.ErrWouldBlock) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := unix.SetNonblock(c.FD, true); err != nil {
			c.Close()
			return err
		}
		if err := p.Add(c.FD, poll.Readable); err != nil {
			c.Close()
			return err
		}
		conns[c.FD] = &conn{c: c}
	}
}

// serve writes what is pending, then echoes what can be read, until the
// socket has nothing more to read or no room to write. An error (the
// client's close included) ends the connection.
func (c *conn) serve(p poll.Poller, buf []byte) error {
	if len(c.pending) > 0 {
		if blocked, err := c.write(p, c.pending); blocked || err != nil {
			return err
		}
		if err := p.Modify(c.c.FD, poll.Readable); err != nil {
			return err
		}
	}
	for {
		n, err := unix.Read(c.c.FD, buf)
		switch {
		case err == unix.EAGAIN:
			return nil
		case err == unix.EINTR:
			continue
		case err != nil:
			return err
		case n == 0:
			return errors.New("closed by the client")
		}
		if blocked, err := c.write(p, buf[:n]); blocked || err != nil {
			return err
		}
	}
}

// write writes b; if the send buffer fills, it keeps the rest as pending,
// watches for Writable and reports blocked.
func (c *conn) write(p poll.Poller, b []byte) (blocked bool, err error) {
	for len(b) > 0 {
		n, err := unix.Write(c.c.FD, b)
		if err == unix.EAGAIN {
			break
		}
		if err != nil && err != unix.EINTR {
			return false, err
		}
		b = b[max(n, 0):]
	}
	c.pending = append(c.pending[:0], b...)
	if len(b) == 0 {
		return false, nil
	}
	return true, p.Modify(c.c.FD, poll.Writable)
}
