//go:build !labref

// Package lab09 is the lab of chapter 09: an echo server on epoll, one
// goroutine serving every connection, that works level- and
// edge-triggered and never blocks.
package lab09

import (
	"errors"
	"sync/atomic"

	"github.com/corofpm/corofpm/net/poll"
	"github.com/corofpm/corofpm/net/sock"
)

// Serve echoes back whatever each client of ln sends, on one goroutine,
// with p (epoll, level-triggered or edge-triggered: the grader runs both)
// as the only place it waits. It returns nil once stop is set, having
// closed every connection; it leaves ln and p open, they are the caller's.
//
// Rules that make it correct under both triggers:
//   - ln and every connection are non-blocking: a read, write or accept
//     that would wait returns EAGAIN instead, and the loop goes on.
//   - When ln is readable, accept until ErrWouldBlock; when a connection
//     is readable, read until EAGAIN. Edge-triggered epoll reports a
//     change once: what is left behind is never reported again.
//   - A read of 0 bytes is the client's close: Remove, then close the fd.
//   - A write may take less than it was given, or nothing (EAGAIN) when
//     the client does not read its echoes. Keep the rest for that
//     connection, watch it for Writable instead of Readable, and read
//     nothing more from it until the rest is written: never wait for the
//     client, never drop bytes, and never spin on EAGAIN.
func Serve(p poll.Poller, ln *sock.Listener, stop *atomic.Bool) error {
	// TODO(lab):
	//   1. ln.SetNonblock(true); p.Add(ln.FD, poll.Readable).
	//   2. Keep the connections in a map by fd, each with its pending bytes.
	//   3. Loop until stop.Load(): n, err := p.Wait(events, 20*time.Millisecond)
	//      (a short timeout, so that stop is seen), then for each event:
	//      - ln.FD: c, err := ln.AcceptNow() until errors.Is(err,
	//        sock.ErrWouldBlock); unix.SetNonblock(c.FD, true);
	//        p.Add(c.FD, poll.Readable).
	//      - a connection with pending bytes, now Writable: unix.Write them;
	//        once all are out, p.Modify(fd, poll.Readable) and go on reading.
	//      - a connection, Readable (or Hangup): n, err := unix.Read(fd, buf)
	//        until unix.EAGAIN; write each chunk back with unix.Write; on a
	//        short write or EAGAIN keep the rest as pending, p.Modify(fd,
	//        poll.Writable) and stop reading it. n == 0 or an error other
	//        than EAGAIN: p.Remove(fd), close it, forget it.
	//   4. On stop: Remove and close every connection, Remove ln, return nil.
	return errors.New("lab09: Serve not written yet (TODO(lab))")
}
