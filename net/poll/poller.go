// Package poll is IO multiplexing behind one interface: one thread waits
// on many file descriptors at once and learns which of them are ready,
// instead of one thread blocked in read(2) per connection.
//
// Three generations of the same system call sit behind Poller:
//
//   - select(2): the interest set is a bitmap of FD_SETSIZE (1024) bits,
//     copied into the kernel and scanned in full on every call; an fd of
//     1024 or more cannot be watched at all.
//   - poll(2): an array of struct pollfd, any fd number, but still copied
//     and scanned in full on every call: the cost grows with the number of
//     fds watched, not with the number that are ready.
//   - epoll(7): the interest set lives in the kernel (epoll_ctl) and
//     epoll_wait returns only the ready fds, so its cost follows the number
//     of events. Level-triggered by default, as select and poll are; the
//     "epoll-et" backend adds EPOLLET, which reports a change of state once
//     and expects the caller to read until EAGAIN.
//
// A Poller belongs to one goroutine, the event loop that calls Wait; it is
// not safe for concurrent use. Remove an fd before closing it: epoll keeps
// watching a socket until every fd referring to it is closed.
package poll

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// Events is a set of readiness conditions, the same for every backend.
type Events uint32

const (
	// Readable: a read(2) will not block. It returns data, or 0 for EOF
	// when the peer has closed, or an error; on a listening socket, a
	// connection is waiting for accept(2).
	Readable Events = 1 << iota
	// Writable: a write(2) will not block; there is room in the socket's
	// send buffer.
	Writable
	// Hangup: the peer closed its side (or the connection failed). It is
	// reported whatever was asked for, by poll and epoll only: select has
	// no such bit, and there a peer's close shows as Readable with a read
	// that returns 0.
	Hangup
)

// String spells the set as "readable|hangup", for logs and tables.
func (e Events) String() string {
	if e == 0 {
		return "none"
	}
	s := ""
	for _, f := range []struct {
		bit  Events
		name string
	}{{Readable, "readable"}, {Writable, "writable"}, {Hangup, "hangup"}} {
		if e&f.bit != 0 {
			if s != "" {
				s += "|"
			}
			s += f.name
		}
	}
	return s
}

// Event is one ready fd, as Wait reports it.
type Event struct {
	// FD is the descriptor that is ready.
	FD int
	// Events says how: a subset of what it was added with, plus Hangup.
	Events Events
}

// ANCHOR: interface
// Poller watches a set of fds and waits until some are ready.
type Poller interface {
	// Name is the backend's name, as given to New.
	Name() string
	// Add starts watching fd for events (Readable, Writable or both).
	Add(fd int, events Events) error
	// Modify changes what fd is watched for, say from Readable to
	// Writable while a reply waits for room in the send buffer.
	Modify(fd int, events Events) error
	// Remove stops watching fd. Call it before closing fd.
	Remove(fd int) error
	// Wait blocks until at least one fd is ready or timeout passes, fills
	// events with up to len(events) ready fds and returns how many. A
	// timeout of 0 returns at once; a negative one waits for ever. Time
	// out returns 0, nil. A signal interrupting the system call (EINTR)
	// is retried with the time that is left, so callers never see it.
	// Ready fds that do not fit in events are reported by a later Wait,
	// so a small buffer is correct, just slower; select and poll look
	// from the start of their set each time, so there a buffer too small
	// for every ready fd lets the first ones pass ahead of the others.
	// It does not allocate once the Poller has seen a buffer of that
	// size.
	Wait(events []Event, timeout time.Duration) (int, error)
	// Close releases the Poller (epoll's own fd); the watched fds stay
	// open, they belong to the caller.
	Close() error
}

// ANCHOR_END: interface

// Backends are the names New accepts, oldest first, for chapters and tests
// that compare them.
var Backends = []string{"select", "poll", "epoll", "epoll-et"}

// ErrUnknownBackend is returned by New for a name not in Backends.
var ErrUnknownBackend = errors.New("poll: unknown backend")

// New returns a Poller by backend name: "select", "poll", "epoll"
// (level-triggered) or "epoll-et" (edge-triggered).
func New(name string) (Poller, error) {
	switch name {
	case "select":
		return newSelect(), nil
	case "poll":
		return newPoll(), nil
	case "epoll":
		return newEpoll(name, 0)
	case "epoll-et":
		return newEpoll(name, unix.EPOLLET)
	}
	return nil, fmt.Errorf("%w %q (want one of %v)", ErrUnknownBackend, name, Backends)
}

// ErrNotWatched is returned by Modify and Remove for an fd that was not
// added, and ErrWatched by Add for one that was: the errors epoll_ctl
// gives (ENOENT, EEXIST), which the select and poll backends give too.
var (
	ErrNotWatched = fmt.Errorf("poll: fd not watched: %w", unix.ENOENT)
	ErrWatched    = fmt.Errorf("poll: fd already watched: %w", unix.EEXIST)
)

// errNoRoom is Wait's answer to an empty events slice: nothing could be
// reported, and epoll_wait would refuse it with EINVAL anyway.
var errNoRoom = errors.New("poll: Wait needs room for at least one event")

// checkFD refuses what no backend can watch.
func checkFD(backend string, fd int) error {
	if fd < 0 {
		return fmt.Errorf("poll: %s: fd %d: %w", backend, fd, unix.EBADF)
	}
	return nil
}

// deadline tells a Wait that was interrupted (EINTR) how long it still has
// to wait. It is a value, so a Wait keeps it on the stack.
type deadline struct {
	forever bool
	at      time.Time
}

// deadlineAfter starts the clock of a Wait with timeout d (negative: never).
func deadlineAfter(d time.Duration) deadline {
	if d < 0 {
		return deadline{forever: true}
	}
	return deadline{at: time.Now().Add(d)}
}

// left is the timeout to retry with: negative for ever, else what remains,
// never below zero.
func (d deadline) left() time.Duration {
	if d.forever {
		return -1
	}
	return max(time.Until(d.at), 0)
}

// millis converts a timeout to epoll_wait's milliseconds, rounding up so
// that a 100µs timeout waits rather than spins, and -1 for ever.
func millis(d time.Duration) int {
	if d < 0 {
		return -1
	}
	return int((d + time.Millisecond - 1) / time.Millisecond)
}
