package poll

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// pollHangup are the revents that mean the peer is gone. POLLRDHUP (Linux)
// must be asked for; POLLHUP, POLLERR and POLLNVAL (the fd was closed while
// watched) are always reported.
const pollHangup = unix.POLLRDHUP | unix.POLLHUP | unix.POLLERR | unix.POLLNVAL

// poller is the poll(2) backend, called through ppoll(2) so that the
// timeout has nanoseconds rather than milliseconds. The interest set is an
// array of struct pollfd that the kernel copies in and walks in full on
// every call, and Wait walks it again to find the revents it set.
type poller struct {
	// fds is the array handed to the kernel, one pollfd per watched fd.
	fds []unix.PollFd
	// index maps an fd to its slot in fds, for Modify and Remove; Remove
	// moves the last slot into the hole, so that fds stays dense.
	index map[int]int
	// ts is the timeout, kept here so that passing it costs no allocation.
	ts unix.Timespec
}

func newPoll() *poller { return &poller{index: map[int]int{}} }

func (p *poller) Name() string { return "poll" }

// pollEvents converts Events to what struct pollfd asks for.
func pollEvents(ev Events) int16 {
	var e int16 = unix.POLLRDHUP
	if ev&Readable != 0 {
		e |= unix.POLLIN
	}
	if ev&Writable != 0 {
		e |= unix.POLLOUT
	}
	return e
}

func (p *poller) Add(fd int, ev Events) error {
	if err := checkFD("poll", fd); err != nil {
		return err
	}
	if _, ok := p.index[fd]; ok {
		return fmt.Errorf("poll: poll: add fd %d: %w", fd, ErrWatched)
	}
	p.index[fd] = len(p.fds)
	p.fds = append(p.fds, unix.PollFd{Fd: int32(fd), Events: pollEvents(ev)})
	return nil
}

func (p *poller) Modify(fd int, ev Events) error {
	i, ok := p.index[fd]
	if !ok {
		return fmt.Errorf("poll: poll: modify fd %d: %w", fd, ErrNotWatched)
	}
	p.fds[i].Events = pollEvents(ev)
	return nil
}

func (p *poller) Remove(fd int) error {
	i, ok := p.index[fd]
	if !ok {
		return fmt.Errorf("poll: poll: remove fd %d: %w", fd, ErrNotWatched)
	}
	last := len(p.fds) - 1
	p.fds[i] = p.fds[last]
	p.index[int(p.fds[i].Fd)] = i
	p.fds = p.fds[:last]
	delete(p.index, fd)
	return nil
}

// ANCHOR: poll-wait
func (p *poller) Wait(events []Event, timeout time.Duration) (int, error) {
	if len(events) == 0 {
		return 0, errNoRoom
	}
	dl := deadlineAfter(timeout)
	for {
		ts := &p.ts
		if timeout < 0 {
			ts = nil
		} else {
			p.ts = unix.NsecToTimespec(timeout.Nanoseconds())
		}
		n, err := unix.Ppoll(p.fds, ts, nil)
		if err == unix.EINTR {
			timeout = dl.left()
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("poll: poll: %w", err)
		}
		// n fds have revents set, somewhere in the array: walk it.
		got := 0
		for i := 0; i < len(p.fds) && got < min(n, len(events)); i++ {
			re := p.fds[i].Revents
			if re == 0 {
				continue
			}
			var ev Events
			if re&(unix.POLLIN|unix.POLLPRI) != 0 {
				ev |= Readable
			}
			if re&unix.POLLOUT != 0 {
				ev |= Writable
			}
			if re&pollHangup != 0 {
				ev |= Hangup
			}
			events[got] = Event{FD: int(p.fds[i].Fd), Events: ev}
			got++
		}
		return got, nil
	}
}

// ANCHOR_END: poll-wait

func (p *poller) Close() error {
	p.fds = p.fds[:0]
	clear(p.index)
	return nil
}
