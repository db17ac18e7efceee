package coro

import (
	"container/list"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// state is where a coroutine is in its life.
type state int

const (
	running   state = iota // running, or resumed another and waits for it to suspend
	suspended              // in suspend, waiting for wake
	dead                   // exited
)

// waitKind tells apart the waits that Resume may end (Yield) from those
// only their own event may.
type waitKind int

const (
	waitEvent waitKind = iota
	waitYield
)

// wait is what a suspended coroutine waits on.
type wait struct {
	kind waitKind
	// op and on say what it waits for, for the deadlock report: built
	// only if one is made, since a Sprintf per suspension would cost
	// more than the switch itself.
	op string
	on describer
	// queue and elem are the wait queue it stands in (a channel's
	// consumers, a WaitGroup's waiters), left on timeout or cancel.
	queue *list.List
	elem  *list.Element
	// timer is its timeout, stopped when something else wakes it first.
	timer *timer
	// token is set for a Park, so that wake marks it used.
	token *Token
	// val carries a value across the handoff: a Push's value to the
	// consumer, or to the producer that will wait for room.
	val any
}

// Co is one coroutine, and the handle through which it (and only it, for
// the blocking operations) acts.
type Co struct {
	// yieldWait is the wait of Yield, kept here to be reused.
	yieldWait wait

	s      *Scheduler
	id     int64
	parent int64
	fn     func(*Co)
	// car is the goroutine it runs on, from Go until it exits.
	car   *carrier
	state state
	// wait is set while suspended; wakeErr is the result wake gives it.
	wait    *wait
	wakeErr error
	// defers run LIFO at exit.
	defers []func()
	// ctx is per-coroutine storage, made on first use, dropped at exit.
	ctx *Context
	// canceled, once set, fails every blocking operation.
	canceled *CanceledError
	// joiners wait for this coroutine to exit; err is what they get.
	joiners list.List
	err     error
	// dump asks a suspended coroutine for its stack (deadlock report);
	// stack is where it puts it. killed makes it unwind instead of waiting.
	dump   bool
	stack  string
	killed bool
}

// killSignal unwinds a killed coroutine's stack; body recovers it.
type killSignal struct{}

// ID is the coroutine's id, from 1, unique in its scheduler.
func (c *Co) ID() int64 { return c.id }

// ParentID is the id of the coroutine that created it, 0 for the run loop.
func (c *Co) ParentID() int64 { return c.parent }

// Scheduler is the scheduler the coroutine runs on.
func (c *Co) Scheduler() *Scheduler { return c.s }

// Done reports whether the coroutine has exited.
func (c *Co) Done() bool { return c.state == dead }

// Err is the cancellation error once Cancel was called, nil before.
func (c *Co) Err() error {
	if c.canceled == nil {
		return nil
	}
	return c.canceled
}

// run is the coroutine's life, on its carrier: fn, then the Defers, then
// wake whoever joins it.
func (c *Co) run() {
	c.err = c.call(c.fn)
	for len(c.defers) > 0 {
		f := c.defers[len(c.defers)-1]
		c.defers = c.defers[:len(c.defers)-1]
		if err := c.call(func(*Co) { f() }); c.err == nil {
			c.err = err
		}
	}
	c.state = dead
	c.ctx = nil
	delete(c.s.live, c.id)
	for c.joiners.Len() > 0 {
		c.s.wake(c.joiners.Front().Value.(*Co), nil)
	}
}

// call runs fn, turning a panic into a reported *PanicError; a kill's
// unwinding is not a panic of the program's.
func (c *Co) call(fn func(*Co)) (err error) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if _, ok := r.(killSignal); ok {
			return
		}
		pe := &PanicError{ID: c.id, Value: r, Stack: debug.Stack()}
		c.s.stats.Panics++
		c.s.opts.OnPanic(pe)
		err = pe
	}()
	fn(c)
	return nil
}

// mustRun panics unless c is the running coroutine: a blocking operation
// made for another coroutine, or from another thread, is a bug that would
// otherwise corrupt the scheduler.
func (c *Co) mustRun(op string) {
	if c.s.current != c {
		cur := "the run loop"
		if c.s.current != nil {
			cur = fmt.Sprintf("coroutine %d", c.s.current.id)
		}
		panic(fmt.Sprintf("coro: %s on coroutine %d from %s", op, c.id, cur))
	}
}

// ANCHOR: suspend
// suspend parks the running coroutine on w (already in w.queue, if it has
// one) until wake, or until timeout (ErrTimeout), and returns the wake's
// error. A canceled coroutine does not suspend: it gets its
// *CanceledError at once.
func (c *Co) suspend(w *wait, timeout time.Duration) error {
	if err := c.refuse(w, timeout); err != nil {
		if w.queue != nil {
			w.queue.Remove(w.elem)
		}
		return err
	}
	if timeout > 0 {
		w.timer = c.s.addTimer(timeout, func() { c.s.wake(c, ErrTimeout) })
	}
	c.state, c.wait = suspended, w
	for {
		if !c.car.yield(struct{}{}) { // back to whoever resumed us
			panic(killSignal{})
		}
		if !c.dump {
			break
		}
		c.dump, c.stack = false, stack()
	}
	c.wait = nil
	return c.wakeErr
}

// ANCHOR_END: suspend

// refuse is why suspend must not wait: a kill, a cancellation, or a
// timeout of 0.
func (c *Co) refuse(w *wait, timeout time.Duration) error {
	switch {
	case c.killed:
		return fmt.Errorf("coro: %s in coroutine %d: %w", w.reason(), c.id, ErrCanceled)
	case c.canceled != nil:
		return c.canceled
	case timeout == 0:
		return ErrTimeout
	}
	return nil
}

// stack is the running goroutine's stack.
func stack() string {
	buf := make([]byte, 16<<10)
	return strings.TrimRight(string(buf[:runtime.Stack(buf, false)]), "\n")
}

// Go creates a child coroutine; see Scheduler.Go.
func (c *Co) Go(fn func(*Co)) (*Co, error) {
	c.mustRun("Go")
	return c.s.Go(fn)
}

// Yield suspends the coroutine until Scheduler.Resume, or Cancel.
func (c *Co) Yield() error {
	c.mustRun("Yield")
	// One wait per coroutine, reused: a Yield/Resume round trip is the
	// switch's cost alone, with no allocation.
	c.yieldWait = wait{kind: waitYield, op: "yield"}
	return c.suspend(&c.yieldWait, Forever)
}

// Resume resumes the coroutine id, suspended in Yield; see Scheduler.Resume.
func (c *Co) Resume(id int64) error { return c.s.Resume(id) }

// Sleep suspends the coroutine for d, on the scheduler's timer heap. It
// returns early only if the coroutine is canceled.
func (c *Co) Sleep(d time.Duration) error {
	c.mustRun("Sleep")
	err := c.suspend(&wait{op: "sleep"}, max(d, 1))
	if err == ErrTimeout {
		return nil
	}
	return err
}

// Defer registers fn to run when the coroutine exits, after fn and every
// Defer registered later: last in, first out, as Swoole's Coroutine::defer.
func (c *Co) Defer(fn func()) {
	c.mustRun("Defer")
	c.defers = append(c.defers, fn)
}

// Cancel cancels the coroutine c: the blocking operation it waits in, if
// any, returns at once, and every later one fails, with a *CanceledError
// carrying reason. Cancel of an exited coroutine does nothing; the first
// reason stays.
func (c *Co) Cancel(reason error) {
	if c.state == dead || c.canceled != nil {
		return
	}
	if reason == nil {
		reason = fmt.Errorf("no reason given")
	}
	c.canceled = &CanceledError{ID: c.id, Reason: reason}
	if c.state == suspended {
		c.s.wake(c, c.canceled)
	}
}

// Join waits until other exits, or timeout, and returns other's panic as
// a *PanicError, nil if it ended normally.
func (c *Co) Join(other *Co, timeout time.Duration) error {
	c.mustRun("Join")
	if other == c {
		return fmt.Errorf("coro: coroutine %d joins itself", c.id)
	}
	if other.state != dead {
		w := &wait{op: "join", on: other}
		w.enqueue(&other.joiners, c)
		if err := c.suspend(w, timeout); err != nil {
			return err
		}
	}
	return other.err
}

// describer is what a coroutine waits on, described.
type describer interface{ describe() string }

// reason is what the wait is for: "chan pop (chan 3, 0 of 1 buffered)".
func (w *wait) reason() string {
	if w.on == nil {
		return w.op
	}
	return w.op + " " + w.on.describe()
}

func (c *Co) describe() string { return fmt.Sprintf("coroutine %d", c.id) }

// enqueue puts c at the back of q as the waiter of w.
func (w *wait) enqueue(q *list.List, c *Co) {
	w.queue, w.elem = q, q.PushBack(c)
}

// Context is a coroutine's own storage, Swoole's Coroutine::getContext:
// per-request state kept here cannot leak into another request, and is
// dropped when the coroutine exits.
type Context struct {
	values map[any]any
}

// Context returns the coroutine's storage, made on first use.
func (c *Co) Context() *Context {
	if c.ctx == nil {
		c.ctx = &Context{values: map[any]any{}}
	}
	return c.ctx
}

// Value returns what Set stored under key, or nil.
func (x *Context) Value(key any) any { return x.values[key] }

// Set stores v under key.
func (x *Context) Set(key, v any) { x.values[key] = v }

// Delete removes key.
func (x *Context) Delete(key any) { delete(x.values, key) }
