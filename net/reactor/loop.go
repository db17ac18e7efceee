// Package reactor is an event loop on net/poll's epoll: the pattern that
// Node.js, nginx's workers, Redis and Swoole are built on. One goroutine,
// locked to one OS thread, turns the loop: wait in epoll_wait until an fd
// is ready or the nearest timer is due, call the handler of each ready fd,
// fire the due timers, and again.
//
// Around that core it gives what every server on such a loop needs:
//
//   - AddFD / ModFD / DelFD: any fd, with a handler called on the loop's
//     thread when it is ready (loop.go);
//   - After / Every: timers on a min-heap whose top sets epoll_wait's
//     timeout (timer.go);
//   - Wake: run a function on the loop's thread from any goroutine, the
//     only door into the loop from outside, through an eventfd (wake.go);
//   - OnSignal: signals delivered as calls on the loop's thread (signal.go);
//   - Conn: a non-blocking connection with a write buffer, OnData and
//     OnClose callbacks, and backpressure: a peer that does not read what
//     it is sent is not read from either (conn.go); Listen accepts into
//     Conns (listen.go).
//
// Everything but Wake, Stop and New belongs to the loop's goroutine: call
// it from a handler, a timer, a Wake'd function, or before Run. Nothing is
// locked, because nothing is shared. A turn of the loop allocates nothing
// once it is running: the events buffer, the read buffer and the timers
// are reused.
package reactor

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/corofpm/corofpm/net/poll"
)

// ErrClosed is returned by Wake once the loop has stopped, and by a Conn's
// Write once it is closed or closing.
var ErrClosed = errors.New("reactor: closed")

// ErrStopped is what OnClose receives for a connection that was still
// open when the loop stopped.
var ErrStopped = errors.New("reactor: loop stopped")

// readSize is the size of the loop's read buffer: the most one read(2)
// of a connection takes per turn, so that one busy peer cannot hold the
// loop while the others wait.
const readSize = 64 << 10

// Loop is an event loop. Create it with New, start it with Run.
type Loop struct {
	// poller is the epoll instance, level-triggered: an fd left with
	// unread data is reported again on the next turn, so a handler may
	// read once per event and stay fair to the other fds.
	poller poll.Poller
	// events is Wait's buffer, reused on every turn.
	events []poll.Event
	// fds finds what handles an fd. A slice indexed by fd rather than a
	// map: the kernel hands out the lowest free fd numbers, so the slice
	// stays dense, and a lookup is an index.
	fds []entry
	// timers is the min-heap of pending timers; its top is the next due.
	timers timerHeap
	// seq numbers timers as they are set, so that timers due at the same
	// time fire in the order they were set.
	seq uint64
	// epoch is when the loop was made: deadlines are durations since it,
	// on the monotonic clock, which a change of the wall clock cannot move.
	epoch time.Time
	// wake is the eventfd and the queue of functions other goroutines
	// sent with Wake.
	wake waker
	// signals are the channels os/signal delivers to, stopped with the loop.
	signals []chan os.Signal
	// rbuf is the buffer every Conn reads into: the loop runs one handler
	// at a time, so one buffer serves every connection, and an idle
	// connection costs no read buffer at all.
	rbuf []byte
	// stopping ends Run after the current turn.
	stopping bool
	// ran is set by Run: a Loop runs once.
	ran bool
}

// entry is what the loop knows about one of its fds.
type entry struct {
	// handler is called with the fd's events when it is ready.
	handler func(poll.Events)
	// owner is the Conn or Listener the loop closes when it stops; nil for
	// an fd added with AddFD, which belongs to the caller.
	owner interface{ shut(error) }
}

// New makes a loop: an epoll instance and an eventfd registered in it.
func New() (*Loop, error) {
	p, err := poll.New("epoll")
	if err != nil {
		return nil, err
	}
	l := &Loop{poller: p, events: make([]poll.Event, 256), epoch: time.Now(), rbuf: make([]byte, readSize)}
	if err := l.wake.open(); err != nil {
		p.Close()
		return nil, err
	}
	if err := l.add(l.wake.fd, poll.Readable, l.wake.drain, nil); err != nil {
		l.wake.close()
		p.Close()
		return nil, err
	}
	return l, nil
}

// ANCHOR: run
// Run turns the loop on the calling goroutine, locked to its OS thread,
// until Stop. It then closes every Conn and Listener (their OnClose gets
// ErrStopped), the eventfd and the epoll instance, and returns. fds added
// with AddFD are left open: they belong to the caller.
func (l *Loop) Run() error {
	if l.ran {
		return fmt.Errorf("reactor: Run called twice: %w", ErrClosed)
	}
	l.ran = true
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer l.close()
	for !l.stopping {
		n, err := l.poller.Wait(l.events, l.timers.timeout(l.now()))
		if err != nil {
			return fmt.Errorf("reactor: %w", err)
		}
		for _, ev := range l.events[:n] {
			// An earlier handler of this turn may have removed the fd:
			// its entry is empty then, and the event is dropped.
			if h := l.fds[ev.FD].handler; h != nil {
				h(ev.Events)
			}
		}
		l.fireTimers()
	}
	return nil
}

// ANCHOR_END: run

// Stop asks Run to return after the current turn. Any goroutine may call
// it; functions sent with Wake before it still run.
func (l *Loop) Stop() {
	l.Wake(func() { l.stopping = true })
}

// AddFD watches fd for events (poll.Readable, poll.Writable) and calls h
// on the loop's thread when it is ready. h also gets poll.Hangup when the
// peer has gone. Treat an event as a hint: a handler must expect EAGAIN,
// since an fd closed and reopened under the same number within one turn
// can receive the old fd's event.
func (l *Loop) AddFD(fd int, events poll.Events, h func(poll.Events)) error {
	return l.add(fd, events, h, nil)
}

// ModFD changes what fd is watched for.
func (l *Loop) ModFD(fd int, events poll.Events) error {
	return l.poller.Modify(fd, events)
}

// DelFD stops watching fd. Call it before closing fd.
func (l *Loop) DelFD(fd int) error {
	if fd >= 0 && fd < len(l.fds) {
		l.fds[fd] = entry{}
	}
	return l.poller.Remove(fd)
}

func (l *Loop) add(fd int, events poll.Events, h func(poll.Events), owner interface{ shut(error) }) error {
	if err := l.poller.Add(fd, events); err != nil {
		return err
	}
	if fd >= len(l.fds) {
		l.fds = append(l.fds, make([]entry, fd+1-len(l.fds))...)
	}
	l.fds[fd] = entry{handler: h, owner: owner}
	return nil
}

// now is the time since the loop's epoch, on the monotonic clock.
func (l *Loop) now() time.Duration { return time.Since(l.epoch) }

// close is the end of Run: the functions still queued by Wake run, then
// every Conn and Listener is closed, then the loop's own fds.
func (l *Loop) close() {
	l.wake.close()
	l.wake.run() // queued before the close: Wake said they would run
	l.stopSignals()
	for fd := range l.fds {
		if e := l.fds[fd]; e.owner != nil {
			e.owner.shut(ErrStopped)
		}
	}
	l.fds = nil
	for _, t := range l.timers {
		t.index = -1 // a later Stop finds them not pending
	}
	l.timers = nil
	l.poller.Close()
}
