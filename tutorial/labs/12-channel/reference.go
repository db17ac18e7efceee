//go:build labref

package lab12

import (
	"slices"
	"time"

	"github.com/corofpm/corofpm/coro"
)

// This is the reference solution, built only with -tags labref so that CI
// can check the grader passes on correct code. Read it after your own.

func (ch *Chan[T]) Push(c *coro.Co, v T, timeout time.Duration) error {
	if ch.closed {
		return coro.ErrClosed
	}
	if len(ch.consumers) > 0 { // hand it over: the consumer runs now
		w := ch.consumers[0]
		ch.consumers = ch.consumers[1:]
		w.v = v
		w.tok.Resume(nil)
		return nil
	}
	if len(ch.buf) < ch.capacity {
		ch.buf = append(ch.buf, v)
		return nil
	}
	w := &waiter[T]{tok: c.Park("lab12 push"), v: v}
	ch.producers = append(ch.producers, w)
	return ch.wait(w, &ch.producers, timeout)
}

func (ch *Chan[T]) Pop(c *coro.Co, timeout time.Duration) (T, error) {
	var zero T
	if len(ch.buf) > 0 {
		v := ch.buf[0]
		ch.buf[0] = zero // no reference kept from the array
		ch.buf = ch.buf[1:]
		if len(ch.producers) > 0 { // room now: the first producer's value
			w := ch.producers[0]
			ch.producers = ch.producers[1:]
			ch.buf = append(ch.buf, w.v)
			w.tok.Resume(nil)
		}
		return v, nil
	}
	if len(ch.producers) > 0 { // rendezvous: straight from the producer
		w := ch.producers[0]
		ch.producers = ch.producers[1:]
		w.tok.Resume(nil)
		return w.v, nil
	}
	if ch.closed {
		return zero, coro.ErrClosed
	}
	w := &waiter[T]{tok: c.Park("lab12 pop")}
	ch.consumers = append(ch.consumers, w)
	if err := ch.wait(w, &ch.consumers, timeout); err != nil {
		return zero, err
	}
	return w.v, nil
}

// wait parks in q until a Push, Pop or Close resumes w; on a timeout or a
// cancellation w is still in q and leaves it, so that nobody hands a value
// to a coroutine that has stopped waiting.
func (ch *Chan[T]) wait(w *waiter[T], q *[]*waiter[T], timeout time.Duration) error {
	if _, err := w.tok.Wait(timeout); err != nil {
		if i := slices.Index(*q, w); i >= 0 {
			*q = slices.Delete(*q, i, i+1)
		}
		return err
	}
	return w.err
}

func (ch *Chan[T]) Close() {
	if ch.closed {
		return
	}
	ch.closed = true
	for _, q := range []*[]*waiter[T]{&ch.producers, &ch.consumers} {
		for len(*q) > 0 {
			w := (*q)[0]
			*q = (*q)[1:]
			w.err = coro.ErrClosed
			w.tok.Resume(nil)
		}
	}
}
