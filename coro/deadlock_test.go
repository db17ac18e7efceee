package coro

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// When every coroutine waits and nothing can wake one, Run reports each
// with its wait and stack, kills them (their Defers run) and returns.
func TestDeadlockReport(t *testing.T) {
	var defers trace
	s := New(Options{})
	err := s.Run(func(c *Co) {
		a, b := NewChan[int](1), NewChan[int](1)
		c.Go(func(c *Co) {
			c.Defer(func() { defers.say("2") })
			a.Pop(c, Forever)
		})
		c.Go(func(c *Co) {
			c.Defer(func() { defers.say("3") })
			c.Sleep(time.Millisecond) // a timer: not a deadlock while it runs
			b.Pop(c, Forever)
		})
		c.Go(func(c *Co) { c.Yield() })
		var wg WaitGroup
		wg.Add(1)
		wg.Wait(c, Forever)
	})
	var de *DeadlockError
	require.ErrorAs(t, err, &de)
	t.Log(de.Report())
	require.Len(t, de.Waiters, 4)
	reasons := map[int64]string{1: "waitgroup (count 1)", 2: "chan pop", 3: "chan pop", 4: "yield"}
	for _, w := range de.Waiters {
		assert.Contains(t, w.Reason, reasons[w.ID])
		assert.Contains(t, err.Error(), fmt.Sprintf("coroutine %d (parent", w.ID))
		assert.Contains(t, w.Stack, "coro.(*Co).suspend")
		assert.Contains(t, w.Stack, "TestDeadlockReport", "the stack reaches the caller's line")
	}
	assert.Contains(t, de.Report(), "TestDeadlockReport")
	assert.Equal(t, "2 3", defers.String(), "killed coroutines ran their Defers")
	assert.Zero(t, s.Stats().Live)
}

// A coroutine parked on an external event is not deadlocked: the event
// may come from another goroutine.
func TestParkedIsNotDeadlock(t *testing.T) {
	s := New(Options{})
	var got any
	require.NoError(t, s.Run(func(c *Co) {
		tok := c.Park("an answer from another thread")
		go func() { time.Sleep(5 * time.Millisecond); tok.Post("42") }()
		var err error
		got, err = tok.Wait(Forever)
		require.NoError(t, err)
	}))
	assert.Equal(t, "42", got)
}
