// Package lab12 is the lab of chapter 12: a channel between coroutines,
// Swoole's Coroutine\Channel, built on the scheduler's one seam for
// waiting, Co.Park and Token. The declarations in this file are given; the
// methods to write are in lab.go.
package lab12

import (
	"fmt"

	"github.com/corofpm/corofpm/coro"
)

// Chan is a channel between the coroutines of one scheduler, with room
// for capacity values; capacity 0 is a rendezvous, where a Push waits for
// a Pop. Nothing in it needs a lock: only one coroutine runs at a time,
// and nothing else runs between two of its waits.
type Chan[T any] struct {
	// buf holds the values pushed and not yet popped, oldest first; it
	// never holds more than capacity.
	buf      []T
	capacity int
	// closed is set by Close: Pushes fail from then on, and Pops once buf
	// is empty.
	closed bool
	// consumers are the coroutines waiting in Pop for a value, producers
	// those waiting in Push for room (or, at capacity 0, for a consumer),
	// each with its value. First come, first served: append at the end,
	// take from the front.
	consumers, producers []*waiter[T]
}

// waiter is one coroutine parked in Push or Pop. Whoever ends its wait
// fills in v (a Pop's value) or err (ErrClosed), takes the waiter out of
// its queue, and then calls tok.Resume, which runs the waiter at once.
type waiter[T any] struct {
	// tok is the coroutine's Park; its Wait returns when it is resumed,
	// or fails with coro.ErrTimeout or a *coro.CanceledError on its own.
	tok *coro.Token
	// v is the value: the one a producer waits to hand over, or the one
	// a consumer was handed.
	v T
	// err is what the wait ends with: nil, or coro.ErrClosed from Close.
	err error
}

// NewChan returns a channel with room for capacity values.
func NewChan[T any](capacity int) *Chan[T] {
	if capacity < 0 {
		panic(fmt.Sprintf("lab12: NewChan(%d): negative capacity", capacity))
	}
	return &Chan[T]{buf: make([]T, 0, capacity), capacity: capacity}
}

// Len is the number of values buffered; Cap the capacity.
func (ch *Chan[T]) Len() int { return len(ch.buf) }
func (ch *Chan[T]) Cap() int { return ch.capacity }
