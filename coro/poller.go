package coro

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corofpm/corofpm/net/poll"
	"golang.org/x/sys/unix"
)

// handler is what the Poller calls for a ready fd: a Conn or a Listener,
// which resumes the coroutines parked on it.
type handler interface {
	ready(ev poll.Events)
}

// Poller is the Idler that makes IO hooked: the run loop's idle wait is
// epoll_wait, with the timeout to the next timer, and each ready fd
// resumes the coroutine parked on it. Give it to the scheduler, then make
// Conns, Listeners, Dials and Execs on both:
//
//	p, _ := coro.NewPoller()
//	defer p.Close()
//	s := coro.New(coro.Options{Idler: p})
//
// A connection's fd is registered once, edge-triggered, for reading and
// writing: a coroutine parks only once the kernel has said there is no
// more (EAGAIN, or a short read), so the next edge is exactly what it
// waits for, and no epoll_ctl is made per wait. A shared listening socket
// is the exception, level-triggered: see Listener.
// A Poller serves one scheduler; only Wake may be called from elsewhere.
type Poller struct {
	// ep is the epoll instance (net/poll's "epoll-et" backend), whose Wait
	// allocates nothing.
	ep poll.Poller
	// events is Wait's buffer, reused on every turn.
	events []poll.Event
	// fds maps each registered fd to whoever waits on it.
	fds map[int]handler
	// wakeFD is an eventfd in the epoll set: Wake writes to it, so that a
	// Post from another goroutine ends an epoll_wait at once.
	wakeFD int
	// woken is set between a Wake's write and the loop's read of the
	// eventfd, so that a burst of Posts costs one write(2), not one each.
	woken atomic.Bool
	// mu and closed keep Wake from writing to a closed (and perhaps
	// reused) fd number once Close has run.
	mu     sync.Mutex
	closed bool
	// Turns counts epoll_waits and Dispatched the ready fds they returned,
	// for chapters that show the loop at work.
	Turns, Dispatched int64
}

// NewPoller opens the epoll instance and its eventfd.
func NewPoller() (*Poller, error) {
	ep, err := poll.New("epoll-et")
	if err != nil {
		return nil, fmt.Errorf("coro: poller: %w", err)
	}
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		ep.Close()
		return nil, fmt.Errorf("coro: poller: eventfd: %w", err)
	}
	if err := ep.Add(fd, poll.Readable); err != nil {
		unix.Close(fd)
		ep.Close()
		return nil, fmt.Errorf("coro: poller: %w", err)
	}
	return &Poller{ep: ep, events: make([]poll.Event, 256), fds: map[int]handler{}, wakeFD: fd}, nil
}

// ANCHOR: idle
// Idle is the run loop's wait: one epoll_wait until the next timer's
// deadline (for ever if there is none), then each ready fd's handler,
// which resumes its parked coroutines right here, on the loop's thread.
func (p *Poller) Idle(deadline time.Time) {
	timeout := time.Duration(-1)
	if !deadline.IsZero() {
		timeout = max(time.Until(deadline), 0)
	}
	n, err := p.ep.Wait(p.events, timeout)
	if err != nil {
		panic(fmt.Sprintf("coro: poller: %v", err)) // EBADF or EINVAL: a bug, not a condition
	}
	p.Turns++
	for _, ev := range p.events[:n] {
		if ev.FD == p.wakeFD {
			var buf [8]byte
			unix.Read(p.wakeFD, buf[:]) // reset the counter; then let Wakes write again
			p.woken.Store(false)
			continue
		}
		// A handler run earlier in this turn may have closed this fd, and
		// a new one may have its number: its waiter then wakes for
		// nothing, retries its system call, gets EAGAIN and parks again.
		if h := p.fds[ev.FD]; h != nil {
			p.Dispatched++
			h.ready(ev.Events)
		}
	}
}

// ANCHOR_END: idle

// Wake ends the current or next Idle: an eventfd write, skipped when one
// is already pending. Any goroutine may call it.
func (p *Poller) Wake() {
	if !p.woken.CompareAndSwap(false, true) {
		return // a write is pending and the loop has not read it yet
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(p.wakeFD, one[:]) // EAGAIN only if the counter is full: it is set anyway
}

// register adds fd for reading and writing, edge-triggered.
func (p *Poller) register(fd int, h handler) error {
	if err := p.ep.Add(fd, poll.Readable|poll.Writable); err != nil {
		return err
	}
	p.fds[fd] = h
	return nil
}

// registerShared adds a listening socket that other processes may watch
// too, with EPOLLEXCLUSIVE so that a connection wakes one of them.
func (p *Poller) registerShared(fd int, h handler) error {
	if err := poll.AddExclusive(p.ep, fd); err != nil {
		return err
	}
	p.fds[fd] = h
	return nil
}

// unregister removes fd; call it before closing fd, since epoll watches
// the open file, not the number.
func (p *Poller) unregister(fd int) {
	if _, ok := p.fds[fd]; ok {
		delete(p.fds, fd)
		p.ep.Remove(fd)
	}
}

// forget drops fd's handler, for an fd about to be closed, which leaves
// the epoll set by itself.
func (p *Poller) forget(fd int) { delete(p.fds, fd) }

// Watched is the number of fds registered now, the eventfd aside: tests
// use it to prove that every Conn was unregistered.
func (p *Poller) Watched() int { return len(p.fds) }

// Close closes the epoll instance and the eventfd. Close the Conns and
// Listeners first: their fds are theirs, not the Poller's.
func (p *Poller) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	unix.Close(p.wakeFD)
	return p.ep.Close()
}
