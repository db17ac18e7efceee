package coro

import (
	"container/list"
	"fmt"
	"sync/atomic"
	"time"
)

// Chan is a channel between the coroutines of one scheduler: Swoole's
// Coroutine\Channel, typed. A Push that finds a consumer waiting hands it
// the value and resumes it at once; the pusher continues when that
// consumer suspends again. A Pop that frees room resumes a waiting
// producer the same way.
type Chan[T any] struct {
	// s is the scheduler of the first coroutine to use it; another
	// scheduler's coroutine using it would be a data race, so it panics.
	s *Scheduler
	// buf is a ring of cap values; head is the oldest, n how many.
	buf     []T
	head, n int
	closed  bool
	// consumers wait in Pop for a value; producers in Push for room, each
	// with its value in its wait's val.
	consumers, producers list.List
	// id names the channel in wait reasons.
	id int64
}

// chanIDs numbers channels for wait reasons; atomic, since schedulers on
// other threads make channels too.
var chanIDs atomic.Int64

// NewChan returns a channel that holds up to capacity values; 0 makes a
// rendezvous, where Push waits for a Pop.
func NewChan[T any](capacity int) *Chan[T] {
	if capacity < 0 {
		panic(fmt.Sprintf("coro: NewChan(%d): negative capacity", capacity))
	}
	return &Chan[T]{buf: make([]T, capacity), id: chanIDs.Add(1)}
}

// Len is the number of values buffered; Cap the capacity.
func (ch *Chan[T]) Len() int { return ch.n }
func (ch *Chan[T]) Cap() int { return len(ch.buf) }

// Closed reports whether Close was called.
func (ch *Chan[T]) Closed() bool { return ch.closed }

func (ch *Chan[T]) bind(c *Co, op string) {
	c.mustRun(op)
	if ch.s == nil {
		ch.s = c.s
	} else if ch.s != c.s {
		panic(fmt.Sprintf("coro: chan %d used from two schedulers", ch.id))
	}
}

// ANCHOR: push
// Push sends v, waiting up to timeout for room (or for a consumer, on a
// rendezvous channel). It fails with ErrClosed, ErrTimeout or the
// coroutine's *CanceledError.
func (ch *Chan[T]) Push(c *Co, v T, timeout time.Duration) error {
	ch.bind(c, "Chan.Push")
	if ch.closed {
		return ErrClosed
	}
	if ch.consumers.Len() > 0 {
		consumer := ch.consumers.Front().Value.(*Co)
		consumer.wait.val = v
		ch.s.wake(consumer, nil) // it runs now; we continue when it suspends
		return nil
	}
	if ch.n < len(ch.buf) {
		ch.buf[(ch.head+ch.n)%len(ch.buf)] = v
		ch.n++
		return nil
	}
	w := &wait{op: "chan push", on: ch, val: v}
	w.enqueue(&ch.producers, c)
	return c.suspend(w, timeout)
}

// ANCHOR_END: push

// Pop receives a value, waiting up to timeout for one. Values buffered
// before Close are still received; then it fails with ErrClosed. It also
// fails with ErrTimeout or the coroutine's *CanceledError.
func (ch *Chan[T]) Pop(c *Co, timeout time.Duration) (T, error) {
	ch.bind(c, "Chan.Pop")
	var zero T
	if ch.n > 0 {
		v := ch.buf[ch.head]
		ch.buf[ch.head] = zero
		ch.head = (ch.head + 1) % len(ch.buf)
		ch.n--
		if ch.producers.Len() > 0 { // room now: take the first waiting value
			p := ch.producers.Front().Value.(*Co)
			ch.buf[(ch.head+ch.n)%len(ch.buf)] = valueOf[T](p.wait.val)
			ch.n++
			ch.s.wake(p, nil)
		}
		return v, nil
	}
	if ch.producers.Len() > 0 { // rendezvous: straight from the producer
		p := ch.producers.Front().Value.(*Co)
		v := valueOf[T](p.wait.val)
		ch.s.wake(p, nil)
		return v, nil
	}
	if ch.closed {
		return zero, ErrClosed
	}
	w := &wait{op: "chan pop", on: ch}
	w.enqueue(&ch.consumers, c)
	if err := c.suspend(w, timeout); err != nil {
		return zero, err
	}
	return valueOf[T](w.val), nil
}

// Close closes the channel: every waiting producer and consumer is
// resumed, in that order, with ErrClosed, and later Pushes fail. Pops
// still receive what is buffered.
func (ch *Chan[T]) Close() {
	if ch.closed {
		return
	}
	ch.closed = true
	for _, q := range []*list.List{&ch.producers, &ch.consumers} {
		for q.Len() > 0 {
			ch.s.wake(q.Front().Value.(*Co), ErrClosed)
		}
	}
}

func (ch *Chan[T]) describe() string {
	return fmt.Sprintf("(chan %d, %d of %d buffered)", ch.id, ch.n, len(ch.buf))
}

// valueOf unboxes a value carried by a wait; a nil interface value comes
// back as T's zero value rather than a failed type assertion.
func valueOf[T any](x any) T {
	v, _ := x.(T)
	return v
}
