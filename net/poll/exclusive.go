package poll

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// ErrNoExclusive is AddExclusive's answer for the select and poll
// backends, which have no such thing: every waiter on a ready fd wakes.
var ErrNoExclusive = errors.New("poll: EPOLLEXCLUSIVE needs an epoll backend")

// AddExclusive is Add(fd, Readable) for an fd that several epoll instances
// watch at once, typically a listening socket shared by worker processes:
// EPOLLEXCLUSIVE asks the kernel to wake one of them (or a few) per event
// instead of all of them (chapter 04 measures the herd). The kernel takes
// it only at EPOLL_CTL_ADD and only beside EPOLLIN, EPOLLOUT, EPOLLET and
// EPOLLWAKEUP, so this registration has no EPOLLRDHUP and cannot be
// modified later: Remove it and add it again instead.
//
// It is level-triggered, even on the "epoll-et" backend. A process woken
// for a connection takes one and goes back to its work; while others wait,
// its next epoll_wait reports the socket again. Edge-triggered, one edge
// may stand for two connections, so it would have to accept until EAGAIN:
// one accept(2) more per wake-up, for nothing, when each brings one.
func AddExclusive(p Poller, fd int) error {
	e, ok := p.(*epoller)
	if !ok {
		return fmt.Errorf("poll: %s: add fd %d: %w", p.Name(), fd, ErrNoExclusive)
	}
	if err := checkFD(e.name, fd); err != nil {
		return err
	}
	ee := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLEXCLUSIVE, Fd: int32(fd)}
	if err := unix.EpollCtl(e.fd, unix.EPOLL_CTL_ADD, fd, &ee); err != nil {
		return fmt.Errorf("poll: %s: add fd %d exclusive: %w", e.name, fd, e.known(err))
	}
	return nil
}
