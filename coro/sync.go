package coro

import (
	"container/list"
	"fmt"
	"time"
)

// WaitGroup waits for a count of events, as sync.WaitGroup, but its Wait
// suspends a coroutine instead of blocking a thread: Swoole's
// Coroutine\WaitGroup. It belongs to one scheduler.
type WaitGroup struct {
	count   int
	waiters list.List
}

// Add adds delta to the count; when it reaches 0, every waiting coroutine
// is resumed, in the order it began to wait. A negative count panics, as
// in sync.WaitGroup.
func (wg *WaitGroup) Add(delta int) {
	wg.count += delta
	if wg.count < 0 {
		panic("coro: negative WaitGroup counter")
	}
	for wg.count == 0 && wg.waiters.Len() > 0 {
		c := wg.waiters.Front().Value.(*Co)
		c.s.wake(c, nil)
	}
}

// Done is Add(-1).
func (wg *WaitGroup) Done() { wg.Add(-1) }

// Count is the current count.
func (wg *WaitGroup) Count() int { return wg.count }

// Wait suspends c until the count is 0, or timeout.
func (wg *WaitGroup) Wait(c *Co, timeout time.Duration) error {
	c.mustRun("WaitGroup.Wait")
	if wg.count == 0 {
		return nil
	}
	w := &wait{op: "waitgroup", on: wg}
	w.enqueue(&wg.waiters, c)
	return c.suspend(w, timeout)
}

func (wg *WaitGroup) describe() string { return fmt.Sprintf("(count %d)", wg.count) }

// Barrier waits for a set of coroutines to exit: Swoole's
// Coroutine\Barrier. Where a WaitGroup counts Done calls, which a code
// path can forget, a Barrier counts coroutines started with its Go, and
// each leaves it when it exits, however it exits.
type Barrier struct {
	wg WaitGroup
}

// Go starts fn as a child of c that the barrier waits for.
func (b *Barrier) Go(c *Co, fn func(*Co)) (*Co, error) {
	b.wg.Add(1)
	child, err := c.Go(func(c *Co) {
		c.Defer(b.wg.Done)
		fn(c)
	})
	if err != nil {
		b.wg.Done()
	}
	return child, err
}

// Wait suspends c until every coroutine started with Go has exited, or
// timeout.
func (b *Barrier) Wait(c *Co, timeout time.Duration) error {
	c.mustRun("Barrier.Wait")
	if b.wg.count == 0 {
		return nil
	}
	w := &wait{op: "barrier", on: b}
	w.enqueue(&b.wg.waiters, c)
	return c.suspend(w, timeout)
}

func (b *Barrier) describe() string {
	return fmt.Sprintf("(%d coroutines to exit)", b.wg.count)
}
