package coro

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goroutines is runtime.NumGoroutine once a goroutine that just ended has
// had time to be counted out.
func goroutines() int {
	runtime.Gosched()
	return runtime.NumGoroutine()
}

// A finished coroutine's goroutine carries the next one: a thousand
// coroutines one after another run on one goroutine, and nothing of them
// is left once Run returns.
func TestCarrierReused(t *testing.T) {
	before := goroutines()
	var during int
	s := run(t, func(c *Co) {
		for range 1000 {
			child, err := c.Go(func(c *Co) {})
			require.NoError(t, err)
			require.True(t, child.Done())
		}
		during = goroutines() - before
	})
	assert.Equal(t, 2, during, "main's carrier and one idle carrier")
	assert.EqualValues(t, 1001, s.Stats().Created)
	assert.Equal(t, before, goroutines(), "the idle carriers end with Run")
}

// A reused carrier starts clean: the next coroutine has its own id,
// Context and Defers, and a panic in one does not reach the next.
func TestCarrierStartsClean(t *testing.T) {
	var seen []any
	var ids []int64
	run(t, func(c *Co) {
		s := c.Scheduler()
		s.opts.OnPanic = func(*PanicError) {}
		for i := range 3 {
			c.Go(func(c *Co) {
				ids = append(ids, c.ID())
				seen = append(seen, c.Context().Value("k"))
				c.Context().Set("k", i)
				c.Defer(func() { seen = append(seen, i) })
				if i == 1 {
					panic("one")
				}
			})
		}
	})
	assert.Equal(t, []int64{2, 3, 4}, ids)
	assert.Equal(t, []any{nil, 0, nil, 1, nil, 2}, seen)
}

// Past idleCarriers idle, a finished coroutine's goroutine ends.
func TestIdleCarriersBounded(t *testing.T) {
	before := goroutines()
	var peak, after int
	run(t, func(c *Co) {
		var wg WaitGroup
		for range idleCarriers + 50 {
			wg.Add(1)
			c.Go(func(c *Co) {
				defer wg.Done()
				c.Sleep(time.Millisecond)
			})
		}
		peak = goroutines() - before
		wg.Wait(c, Forever)
		// The last Done resumed main from inside the last coroutine: let
		// that one finish before counting.
		c.Sleep(time.Millisecond)
		after = goroutines() - before
	})
	assert.Equal(t, idleCarriers+51, peak, "a carrier per coroutine, and main's")
	assert.Equal(t, idleCarriers+1, after, "the idle ones kept, and main's")
}
