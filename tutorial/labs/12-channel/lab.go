//go:build !labref

package lab12

import (
	"errors"
	"time"

	"github.com/corofpm/corofpm/coro"
)

// Push sends v, waiting up to timeout for room (or, at capacity 0, for a
// consumer): coro.Forever waits without limit, 0 not at all. A Push that
// finds a consumer waiting hands it v and resumes it at once: the
// consumer runs before Push returns. Push fails with coro.ErrClosed once
// the channel is closed (at the call, or while it waited), coro.ErrTimeout,
// or the coroutine's *coro.CanceledError; a failed Push has not sent v.
func (ch *Chan[T]) Push(c *coro.Co, v T, timeout time.Duration) error {
	// TODO(lab): in this order:
	//   1. closed: return coro.ErrClosed.
	//   2. A consumer waits: take the first one out of ch.consumers, put v
	//      in its waiter, and w.tok.Resume(nil). Resume switches to it at
	//      once; you are back here when it suspends again. Take it out of
	//      the queue before Resume: by the time Resume returns it may have
	//      called Pop again and queued anew.
	//   3. Room in buf (len < capacity): append v, return nil.
	//   4. Else wait: w := &waiter[T]{tok: c.Park("lab12 push"), v: v},
	//      append it to ch.producers, and w.tok.Wait(timeout). A Pop (or a
	//      Close) takes it out of the queue and resumes it: return w.err.
	//      If Wait itself fails (timeout, cancel), w is still queued: take
	//      it out (slices.Index, slices.Delete), or a Pop would later take
	//      a value from a coroutine that has given up, and return that
	//      error.
	return errors.New("lab12: Push not written yet (TODO(lab))")
}

// Pop receives a value, waiting up to timeout for one. Values buffered
// before Close are still received; then Pop fails with coro.ErrClosed. It
// also fails with coro.ErrTimeout or the coroutine's *coro.CanceledError.
// A Pop that makes room resumes the first waiting producer at once.
func (ch *Chan[T]) Pop(c *coro.Co, timeout time.Duration) (T, error) {
	var zero T
	// TODO(lab): in this order:
	//   1. Something buffered: take buf[0]. If a producer waits, there is
	//      room now: take it out of ch.producers, append its value to buf
	//      (FIFO: after every value already there), and resume it. Return
	//      the value.
	//   2. Nothing buffered but a producer waits (capacity 0, a
	//      rendezvous): take its value straight from its waiter, take it
	//      out of the queue, resume it, return the value.
	//   3. closed: return zero, coro.ErrClosed.
	//   4. Else wait, as in Push, in ch.consumers: Park("lab12 pop"), then
	//      Wait(timeout). Resumed, return w.v, w.err; if Wait fails, leave
	//      the queue and return its error.
	return zero, errors.New("lab12: Pop not written yet (TODO(lab))")
}

// Close closes the channel: every waiting producer and then every waiting
// consumer is resumed, each at once, with coro.ErrClosed, before Close
// returns, and later Pushes fail. Pops still receive what is buffered.
// Closing a closed channel does nothing.
func (ch *Chan[T]) Close() {
	// TODO(lab): set closed; then, while ch.producers is not empty, take
	// the first waiter out, set its err to coro.ErrClosed, and resume it;
	// the same for ch.consumers. Loop on the queue's length rather than
	// range over it: each Resume runs that coroutine, which may Push or
	// Pop again before you get back.
}
