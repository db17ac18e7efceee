package coro

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWaitGroup(t *testing.T) {
	var tr trace
	run(t, func(c *Co) {
		var wg WaitGroup
		for i := range 3 {
			wg.Add(1)
			c.Go(func(c *Co) {
				defer wg.Done()
				c.Sleep(time.Duration(3-i) * time.Millisecond)
				tr.say(fmt.Sprint(i))
			})
		}
		require.NoError(t, wg.Wait(c, Forever))
		tr.say("all done")
		assert.NoError(t, wg.Wait(c, 0), "count 0: no wait")
	})
	assert.Equal(t, "2 1 0 all done", tr.String())
}

func TestWaitGroupTimeout(t *testing.T) {
	run(t, func(c *Co) {
		var wg WaitGroup
		wg.Add(1)
		assert.ErrorIs(t, wg.Wait(c, 2*time.Millisecond), ErrTimeout)
		c.Go(func(c *Co) { c.Sleep(time.Millisecond); wg.Done() })
		assert.NoError(t, wg.Wait(c, Forever))
		assert.Panics(t, func() { wg.Done() })
	})
}

// A Barrier waits for coroutines to exit, however they exit: here one
// panics and one returns early, and no one calls Done.
func TestBarrier(t *testing.T) {
	var tr trace
	s := New(Options{OnPanic: func(*PanicError) {}})
	require.NoError(t, s.Run(func(c *Co) {
		var b Barrier
		b.Go(c, func(c *Co) { c.Sleep(2 * time.Millisecond); tr.say("slow") })
		b.Go(c, func(c *Co) { c.Sleep(time.Millisecond); panic("oops") })
		b.Go(c, func(c *Co) { tr.say("quick") })
		assert.ErrorIs(t, b.Wait(c, 0), ErrTimeout)
		require.NoError(t, b.Wait(c, Forever))
		tr.say("barrier passed")
	}))
	assert.Equal(t, "quick slow barrier passed", tr.String())
}
