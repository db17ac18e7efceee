package poll

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// FDSetSize is FD_SETSIZE: the number of bits in select(2)'s fd_set, so the
// first fd select cannot watch. It is fixed when libc is built; a program
// that raises RLIMIT_NOFILE gets fds past it, and in C, FD_SET(1024, &set)
// writes past the end of the bitmap: memory corruption, not an error.
const FDSetSize = len(unix.FdSet{}.Bits) * unix.NFDBITS

// ErrFDSetSize is returned by the select backend's Add for an fd of
// FDSetSize or more.
var ErrFDSetSize = errors.New("select(2) cannot watch an fd >= FD_SETSIZE")

// selector is the select(2) backend. The interest set is kept as two
// bitmaps; select overwrites its arguments with the ready fds, so every
// Wait copies them (two times 128 bytes) and then scans the result bit by
// bit up to the highest fd.
type selector struct {
	// read and write are the fds watched for each condition.
	read, write unix.FdSet
	// ready are the copies handed to select(2), which rewrites them; they
	// live here so that passing their address costs no allocation.
	readyRead, readyWrite unix.FdSet
	// watched holds what each fd was added with, so that Add, Modify and
	// Remove can tell an fd watched for nothing yet from one not watched.
	watched map[int]Events
	// maxFD is the highest fd watched, or -1: select's first argument is
	// maxFD+1, and the kernel scans every bit below it.
	maxFD int
	// tv is the timeout handed to select(2), kept here for the same reason
	// as ready.
	tv unix.Timeval
}

func newSelect() *selector { return &selector{watched: map[int]Events{}, maxFD: -1} }

func (s *selector) Name() string { return "select" }

// ANCHOR: select-add
// Add refuses an fd past the bitmap before touching it: x/sys's FdSet.Set
// would panic on the index, C's FD_SET would write past the array.
func (s *selector) Add(fd int, ev Events) error {
	if err := checkFD("select", fd); err != nil {
		return err
	}
	if fd >= FDSetSize {
		return fmt.Errorf("poll: select: fd %d: %w (FD_SETSIZE is %d)", fd, ErrFDSetSize, FDSetSize)
	}
	if _, ok := s.watched[fd]; ok {
		return fmt.Errorf("poll: select: add fd %d: %w", fd, ErrWatched)
	}
	s.set(fd, ev)
	s.maxFD = max(s.maxFD, fd)
	return nil
}

// ANCHOR_END: select-add

func (s *selector) Modify(fd int, ev Events) error {
	if _, ok := s.watched[fd]; !ok {
		return fmt.Errorf("poll: select: modify fd %d: %w", fd, ErrNotWatched)
	}
	s.set(fd, ev)
	return nil
}

func (s *selector) Remove(fd int) error {
	if _, ok := s.watched[fd]; !ok {
		return fmt.Errorf("poll: select: remove fd %d: %w", fd, ErrNotWatched)
	}
	s.read.Clear(fd)
	s.write.Clear(fd)
	delete(s.watched, fd)
	for s.maxFD >= 0 {
		if _, ok := s.watched[s.maxFD]; ok {
			break
		}
		s.maxFD--
	}
	return nil
}

// set records fd's interest in both bitmaps.
func (s *selector) set(fd int, ev Events) {
	s.watched[fd] = ev
	s.read.Clear(fd)
	s.write.Clear(fd)
	if ev&Readable != 0 {
		s.read.Set(fd)
	}
	if ev&Writable != 0 {
		s.write.Set(fd)
	}
}

// ANCHOR: select-wait
func (s *selector) Wait(events []Event, timeout time.Duration) (int, error) {
	if len(events) == 0 {
		return 0, errNoRoom
	}
	dl := deadlineAfter(timeout)
	for {
		s.readyRead, s.readyWrite = s.read, s.write // select overwrites its sets
		tv := &s.tv
		if timeout < 0 {
			tv = nil
		} else {
			s.tv = unix.NsecToTimeval(timeout.Nanoseconds())
		}
		n, err := unix.Select(s.maxFD+1, &s.readyRead, &s.readyWrite, nil, tv)
		if err == unix.EINTR {
			timeout = dl.left()
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("poll: select: %w", err)
		}
		if n == 0 {
			return 0, nil
		}
		// The kernel says how many bits are set, not which: scan for them.
		got := 0
		for fd := 0; fd <= s.maxFD && n > 0 && got < len(events); fd++ {
			var ev Events
			if s.readyRead.IsSet(fd) {
				ev |= Readable
				n--
			}
			if s.readyWrite.IsSet(fd) {
				ev |= Writable
				n--
			}
			if ev != 0 {
				events[got] = Event{FD: fd, Events: ev}
				got++
			}
		}
		return got, nil
	}
}

// ANCHOR_END: select-wait

func (s *selector) Close() error { return nil }
