package coro

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Forever, as a timeout, waits without limit.
const Forever time.Duration = -1

// The errors blocking operations return. Chan's are Swoole's channel error
// codes, as Go errors.
var (
	// ErrTimeout: the operation's timeout passed first (SWOOLE_CHANNEL_TIMEOUT).
	ErrTimeout = errors.New("coro: timed out")
	// ErrClosed: the channel is closed, and empty for Pop
	// (SWOOLE_CHANNEL_CLOSED); or the Conn or Listener is closed.
	ErrClosed = errors.New("coro: closed")
	// ErrCanceled is what a *CanceledError is (SWOOLE_CHANNEL_CANCELED).
	ErrCanceled = errors.New("coro: canceled")
	// ErrTooMany: Go would pass Options.MaxCoroutines.
	ErrTooMany = errors.New("coro: too many coroutines")
	// ErrNotYielded: Resume of a coroutine that is not suspended in Yield.
	ErrNotYielded = errors.New("coro: coroutine is not suspended in Yield")
	// ErrNoCoroutine: no live coroutine has that id.
	ErrNoCoroutine = errors.New("coro: no such coroutine")
)

// CanceledError is returned by the blocking operations of a canceled
// coroutine. It is ErrCanceled for errors.Is and unwraps to the reason.
type CanceledError struct {
	// ID is the canceled coroutine.
	ID int64
	// Reason is what Cancel was given: why, for the log of whoever sees
	// the failed operation.
	Reason error
}

func (e *CanceledError) Error() string {
	return fmt.Sprintf("coro: coroutine %d canceled: %v", e.ID, e.Reason)
}

// Is makes errors.Is(err, ErrCanceled) true.
func (e *CanceledError) Is(target error) bool { return target == ErrCanceled }

// Unwrap gives the reason, so errors.Is(err, context.DeadlineExceeded) and
// the like work on it.
func (e *CanceledError) Unwrap() error { return e.Reason }

// PanicError is a coroutine's panic, reported through Options.OnPanic and
// returned by Join on it.
type PanicError struct {
	// ID is the coroutine that panicked.
	ID int64
	// Value is what it panicked with.
	Value any
	// Stack is its stack at the panic, to find the line.
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("coro: coroutine %d panicked: %v", e.ID, e.Value)
}

// Waiter is one coroutine in a deadlock report.
type Waiter struct {
	// ID and Parent identify the coroutine.
	ID, Parent int64
	// Reason is what it waits on, as the operation described it:
	// "chan pop (chan 1, empty, cap 1)", "yield", "join coroutine 4".
	Reason string
	// Stack is its goroutine's stack while it waited.
	Stack string
}

// DeadlockError is what Run returns when every live coroutine is suspended
// and nothing can wake any of them: no timer, no parked external wait, no
// posted work. Run has killed them (their Defers ran) before returning it.
type DeadlockError struct {
	// Waiters are the coroutines, by id.
	Waiters []Waiter
}

// Error names each coroutine and what it waits on, one per line.
func (e *DeadlockError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "coro: deadlock: all %d coroutines are suspended and nothing can wake them", len(e.Waiters))
	for _, w := range e.Waiters {
		fmt.Fprintf(&b, "\n  coroutine %d (parent %d) waits on %s", w.ID, w.Parent, w.Reason)
	}
	return b.String()
}

// Report is Error with each coroutine's stack under its line.
func (e *DeadlockError) Report() string {
	var b strings.Builder
	b.WriteString(strings.SplitN(e.Error(), "\n", 2)[0])
	for _, w := range e.Waiters {
		fmt.Fprintf(&b, "\n\ncoroutine %d (parent %d) waits on %s:\n%s", w.ID, w.Parent, w.Reason, w.Stack)
	}
	return b.String()
}

// deadlock builds the report: each suspended coroutine is switched to once
// to take its stack (it switches straight back, see Co.suspend), then all
// are killed so that no goroutine is left behind.
func (s *Scheduler) deadlock() error {
	e := &DeadlockError{}
	stuck := make([]*Co, 0, len(s.live))
	for _, c := range s.live {
		stuck = append(stuck, c)
	}
	sort.Slice(stuck, func(i, j int) bool { return stuck[i].id < stuck[j].id })
	for _, c := range stuck {
		c.dump = true
		c.car.next()
		e.Waiters = append(e.Waiters, Waiter{ID: c.id, Parent: c.parent, Reason: c.wait.reason(), Stack: c.stack})
	}
	for _, c := range stuck {
		c.killed = true
	}
	for _, c := range stuck {
		if c.state != dead {
			s.current = c
			c.car.stop()
			s.current = nil
		}
	}
	return e
}
