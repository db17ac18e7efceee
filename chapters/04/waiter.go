package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/net/sock"
	"golang.org/x/sys/unix"
)

// waiter is one worker's side of a round: it waits for connections the way
// its strategy says, answers each with one byte, and keeps the counts it
// reports to the master when the socket is shut down.
type waiter struct {
	// ln is the socket this worker waits on: the pool's shared socket, or
	// its own under SO_REUSEPORT.
	ln *sock.Listener
	// index is the worker's number, sent as the answer byte: the client's
	// proof of which worker took its connection.
	index byte
	// accepts counts connections taken; returns counts the times the wait
	// (epoll_wait, or accept itself) came back to user space; wasted counts
	// the returns after which accept found nothing (EAGAIN).
	accepts, returns, wasted int
}

// waiterMain is a worker process. Its arguments are the strategy, its
// index, and "busy" or "free"; fd 3 is its socket and fd 4 the report pipe
// shared by the pool. It reports "ready INDEX TID" before it waits and
// "done INDEX ACCEPTS RETURNS WASTED" when the master shuts the socket
// down, then exits. A busy worker is one in the middle of a slow request:
// it does not wait for connections until the master sends it SIGUSR1.
func waiterMain(c *proc.Child) error {
	if len(c.Args) != 3 || len(c.Files) != 2 {
		return fmt.Errorf("want strategy, index and busy or free, and 2 files; got %q and %d files", c.Args, len(c.Files))
	}
	index, err := strconv.Atoi(c.Args[1])
	if err != nil {
		return err
	}
	var released chan os.Signal
	if c.Args[2] == "busy" { // before "ready": the master may signal at once
		released = make(chan os.Signal, 1)
		signal.Notify(released, syscall.SIGUSR1)
	}
	// Holding c.Files until we return keeps their finalizers from closing
	// fd 3 and fd 4 under us: the Listener knows the socket only by number.
	defer runtime.KeepAlive(c.Files)
	ln, err := sock.FileListener(c.Files[0])
	if err != nil {
		return err
	}
	report := c.Files[1]

	// ANCHOR: one-thread
	// The waiting goroutine keeps one OS thread to itself, so that the
	// kernel's count of that thread's sleeps (voluntary_ctxt_switches in
	// /proc/PID/task/TID/status) counts the wake-ups of our wait and
	// nothing else. The master reads it before and after the round.
	runtime.LockOSThread()
	w := &waiter{ln: ln, index: byte(index)}
	wait, err := w.prepare(c.Args[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(report, "ready %d %d\n", index, unix.Gettid())
	// ANCHOR_END: one-thread
	if released != nil {
		<-released // the slow request is over
	}
	if err := wait(); !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("%s: %w", c.Args[0], err)
	}
	// One line of less than PIPE_BUF bytes is written whole: lines from
	// the pool's workers never mix in the shared pipe.
	_, err = fmt.Fprintf(report, "done %d %d %d %d\n", index, w.accepts, w.returns, w.wasted)
	return err
}

// prepare does what the strategy needs before the first wait (an epoll
// instance) and returns the wait loop, which runs until the master shuts
// the socket down and accept(2) fails with EINVAL.
func (w *waiter) prepare(strategy string) (func() error, error) {
	switch strategy {
	case "accept", "reuseport":
		return w.acceptLoop, nil
	case "accept-lock":
		return w.lockedLoop, nil
	case "epoll", "epoll-exclusive":
		ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			return nil, fmt.Errorf("epoll_create1: %w", err)
		}
		events := uint32(unix.EPOLLIN)
		if strategy == "epoll-exclusive" {
			events |= unix.EPOLLEXCLUSIVE
		}
		ev := unix.EpollEvent{Events: events, Fd: int32(w.ln.FD)}
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, w.ln.FD, &ev); err != nil {
			return nil, fmt.Errorf("epoll_ctl: %w", err)
		}
		return func() error { return w.epollLoop(ep) }, nil
	}
	return nil, fmt.Errorf("no strategy %q", strategy)
}

// ANCHOR: accept
// acceptLoop is strategies a and e: block in accept(2). Linux queues
// threads blocked in accept on the socket's wait queue as exclusive
// waiters, so a new connection wakes one of them.
func (w *waiter) acceptLoop() error {
	for {
		c, err := w.ln.Accept()
		if err != nil {
			return err
		}
		w.returns++
		w.answer(c)
	}
}

// ANCHOR_END: accept

// ANCHOR: epoll
// epollLoop is strategies b and c: sleep in epoll_wait(2) until the shared
// socket is readable, then try a non-blocking accept. Every worker's epoll
// instance has an entry on the socket's wait queue; without EPOLLEXCLUSIVE
// a connection wakes them all, and all but one find the queue empty.
func (w *waiter) epollLoop(ep int) error {
	events := make([]unix.EpollEvent, 1)
	for {
		n, err := unix.EpollWait(ep, events, -1)
		if err == unix.EINTR || n == 0 {
			continue
		}
		if err != nil {
			return fmt.Errorf("epoll_wait: %w", err)
		}
		c, err := w.ln.AcceptNow()
		switch {
		case errors.Is(err, sock.ErrWouldBlock):
			w.returns++
			w.wasted++ // woken for a connection another worker took
		case err != nil:
			return err // the master's shutdown: not a wake-up we count
		default:
			w.returns++
			w.answer(c)
		}
	}
}

// ANCHOR_END: epoll

// ANCHOR: lock
// lockedLoop is strategy d: FCGI_LOCK. Take a write lock on the listening
// socket with fcntl(F_SETLKW), block in accept(2), release the lock. Only
// the holder waits on the socket; the others sleep on the lock.
func (w *waiter) lockedLoop() error {
	// Start 0 and Len 0 from SEEK_SET (the zero values) cover the whole
	// file, as FCGI_LOCK's struct flock does.
	lock := unix.Flock_t{Type: unix.F_WRLCK}
	unlock := unix.Flock_t{Type: unix.F_UNLCK}
	for {
		if err := fcntlLock(w.ln.FD, unix.F_SETLKW, &lock); err != nil {
			return err
		}
		c, err := w.ln.Accept()
		if err := fcntlLock(w.ln.FD, unix.F_SETLK, &unlock); err != nil {
			return err
		}
		if err != nil {
			return err
		}
		w.returns++
		w.answer(c)
	}
}

// ANCHOR_END: lock

// fcntlLock is fcntl(2) with a lock request, retried when a signal
// interrupts the wait.
func fcntlLock(fd, cmd int, lk *unix.Flock_t) error {
	for {
		err := unix.FcntlFlock(uintptr(fd), cmd, lk)
		if err != unix.EINTR {
			if err != nil {
				return fmt.Errorf("fcntl lock: %w", err)
			}
			return nil
		}
	}
}

// answer sends the worker's index on the connection and closes it.
func (w *waiter) answer(c *sock.Conn) {
	w.accepts++
	c.Write([]byte{w.index})
	c.Close()
}
