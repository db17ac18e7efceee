package reactor

import (
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/corofpm/corofpm/net/poll"
	"golang.org/x/sys/unix"
)

// waker is the loop's door for other goroutines: a queue of functions
// under a mutex, and an eventfd in the loop's epoll set that makes
// epoll_wait return when the queue gets work. An eventfd is a 64-bit
// counter in the kernel: write(2) adds to it, read(2) returns it and
// resets it to zero, and it is readable while non-zero. It is the
// self-pipe trick (chapter 05) in one fd instead of two, and with no pipe
// buffer to fill.
type waker struct {
	// fd is the eventfd, non-blocking.
	fd int
	// mu guards queue and closed: the only state the loop shares.
	mu sync.Mutex
	// queue holds the functions sent since the loop last looked.
	queue []func()
	// running is the batch the loop is running, swapped with queue so
	// that both slices are reused and Wake never waits for a batch to end.
	running []func()
	// closed is set when the loop stops; Wake refuses from then on, and
	// writes to fd only while it is not set, so never to a closed fd.
	closed bool
	// buf is read(2)'s buffer for the counter, kept here so that a
	// wake-up allocates nothing.
	buf [8]byte
}

func (w *waker) open() error {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return fmt.Errorf("reactor: eventfd: %w", err)
	}
	w.fd = fd
	return nil
}

// ANCHOR: wake
// Wake runs f on the loop's thread, soon, from any goroutine: the way to
// hand the loop a connection, a result or a request to stop. Functions run
// in the order they were sent. It returns ErrClosed, and f does not run,
// once the loop has stopped.
func (l *Loop) Wake(f func()) error {
	w := &l.wake
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	w.queue = append(w.queue, f)
	if len(w.queue) > 1 {
		return nil // the eventfd is already set and the loop not yet there
	}
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	if _, err := unix.Write(w.fd, one[:]); err != nil && err != unix.EAGAIN {
		return fmt.Errorf("reactor: wake: eventfd write: %w", err)
	}
	return nil
}

// drain is the eventfd's handler, on the loop's thread: reset the counter,
// then run what was queued. The reset comes first, so that a Wake landing
// after the swap sets the counter again and is seen on the next turn.
func (w *waker) drain(_ poll.Events) {
	unix.Read(w.fd, w.buf[:]) // EAGAIN: another turn already reset it
	w.run()
}

// ANCHOR_END: wake

// run swaps the queue out and runs it.
func (w *waker) run() {
	w.mu.Lock()
	w.queue, w.running = w.running[:0], w.queue
	w.mu.Unlock()
	for i, f := range w.running {
		f()
		w.running[i] = nil // let the closure and what it holds go
	}
}

// close refuses further Wakes and closes the eventfd.
func (w *waker) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.closed = true
		unix.Close(w.fd)
	}
}
