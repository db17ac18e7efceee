package poll

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// epollHangup are the events that mean the peer is gone. EPOLLRDHUP must be
// asked for; EPOLLHUP and EPOLLERR are always reported.
const epollHangup = unix.EPOLLRDHUP | unix.EPOLLHUP | unix.EPOLLERR

// epoller is the epoll(7) backend. The interest set lives in the kernel,
// changed one fd at a time by epoll_ctl(2); the kernel keeps a ready list
// fed by the sockets themselves, and epoll_wait(2) copies out only what is
// on it. Nothing in Wait is proportional to the number of fds watched.
type epoller struct {
	// name is "epoll" or "epoll-et".
	name string
	// fd is the epoll instance, the kernel object holding the interest set.
	fd int
	// flags are added to every registration: EPOLLET for edge-triggered.
	flags uint32
	// buf receives epoll_wait's events; it grows to the largest events
	// slice Wait has been given and is reused, so Wait does not allocate.
	buf []unix.EpollEvent
}

func newEpoll(name string, flags uint32) (*epoller, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("poll: epoll_create1: %w", err)
	}
	return &epoller{name: name, fd: fd, flags: flags}, nil
}

func (e *epoller) Name() string { return e.name }

// ANCHOR: epoll-ctl
func (e *epoller) ctl(op int, fd int, ev Events) error {
	if err := checkFD(e.name, fd); err != nil {
		return err
	}
	ee := unix.EpollEvent{Events: unix.EPOLLRDHUP | e.flags, Fd: int32(fd)}
	if ev&Readable != 0 {
		ee.Events |= unix.EPOLLIN
	}
	if ev&Writable != 0 {
		ee.Events |= unix.EPOLLOUT
	}
	return unix.EpollCtl(e.fd, op, fd, &ee)
}

// ANCHOR_END: epoll-ctl

func (e *epoller) Add(fd int, ev Events) error {
	if err := e.ctl(unix.EPOLL_CTL_ADD, fd, ev); err != nil {
		return fmt.Errorf("poll: %s: add fd %d: %w", e.name, fd, e.known(err))
	}
	return nil
}

func (e *epoller) Modify(fd int, ev Events) error {
	if err := e.ctl(unix.EPOLL_CTL_MOD, fd, ev); err != nil {
		return fmt.Errorf("poll: %s: modify fd %d: %w", e.name, fd, e.known(err))
	}
	return nil
}

func (e *epoller) Remove(fd int) error {
	// Since Linux 2.6.9 the event argument of EPOLL_CTL_DEL may be nil.
	if err := unix.EpollCtl(e.fd, unix.EPOLL_CTL_DEL, fd, nil); err != nil {
		return fmt.Errorf("poll: %s: remove fd %d: %w", e.name, fd, e.known(err))
	}
	return nil
}

// known turns epoll_ctl's ENOENT and EEXIST into the errors every backend
// returns for them.
func (e *epoller) known(err error) error {
	switch err {
	case unix.ENOENT:
		return ErrNotWatched
	case unix.EEXIST:
		return ErrWatched
	}
	return err
}

// ANCHOR: epoll-wait
func (e *epoller) Wait(events []Event, timeout time.Duration) (int, error) {
	if len(events) == 0 {
		return 0, errNoRoom
	}
	if len(e.buf) < len(events) {
		e.buf = make([]unix.EpollEvent, len(events))
	}
	dl := deadlineAfter(timeout)
	for {
		n, err := unix.EpollWait(e.fd, e.buf[:len(events)], millis(timeout))
		if err == unix.EINTR {
			timeout = dl.left()
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("poll: %s: epoll_wait: %w", e.name, err)
		}
		// Only ready fds come back: no scan of the interest set.
		for i, ee := range e.buf[:n] {
			var ev Events
			if ee.Events&(unix.EPOLLIN|unix.EPOLLPRI) != 0 {
				ev |= Readable
			}
			if ee.Events&unix.EPOLLOUT != 0 {
				ev |= Writable
			}
			if ee.Events&epollHangup != 0 {
				ev |= Hangup
			}
			events[i] = Event{FD: int(ee.Fd), Events: ev}
		}
		return n, nil
	}
}

// ANCHOR_END: epoll-wait

func (e *epoller) Close() error {
	if e.fd < 0 {
		return nil
	}
	err := unix.Close(e.fd)
	e.fd = -1
	if err != nil {
		return fmt.Errorf("poll: %s: close: %w", e.name, err)
	}
	return nil
}
