package coro

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// trace records what coroutines say, in order: the scheduler is a strict
// handoff, so tests assert exact orders.
type trace []string

func (t *trace) say(s string)   { *t = append(*t, s) }
func (t *trace) String() string { return strings.Join(*t, " ") }
func run(t *testing.T, main func(*Co)) *Scheduler {
	t.Helper()
	s := New(Options{})
	require.NoError(t, s.Run(main))
	return s
}

// Go runs the child at once; Sleep hands the thread back to the creator;
// the sleeper resumes from the run loop when its timer fires.
func TestOrderGoAndSleep(t *testing.T) {
	var tr trace
	run(t, func(c *Co) {
		c.Go(func(c *Co) { tr.say("a"); c.Sleep(time.Millisecond); tr.say("b") })
		tr.say("c")
		c.Go(func(c *Co) { tr.say("d") })
		tr.say("e")
	})
	assert.Equal(t, "a c d e b", tr.String())
}

// Timers fire in deadline order, equal deadlines in creation order.
func TestOrderSleepers(t *testing.T) {
	var tr trace
	run(t, func(c *Co) {
		for _, d := range []int{3, 1, 2, 1} {
			c.Go(func(c *Co) { c.Sleep(time.Duration(d) * 5 * time.Millisecond); tr.say(string(rune('0' + d))) })
		}
		tr.say("main")
	})
	assert.Equal(t, "main 1 1 2 3", tr.String())
}

func TestYieldResume(t *testing.T) {
	var tr trace
	run(t, func(c *Co) {
		child, _ := c.Go(func(c *Co) {
			tr.say("child 1")
			require.NoError(t, c.Yield())
			tr.say("child 2")
			require.NoError(t, c.Yield())
			tr.say("child 3")
		})
		tr.say("main 1")
		require.NoError(t, c.Resume(child.ID()))
		tr.say("main 2")
		require.NoError(t, c.Resume(child.ID()))
		tr.say("main 3")
		assert.ErrorIs(t, c.Resume(child.ID()), ErrNoCoroutine, "the child has exited")
	})
	assert.Equal(t, "child 1 main 1 child 2 main 2 child 3 main 3", tr.String())
}

func TestResumeOnlyYielded(t *testing.T) {
	run(t, func(c *Co) {
		sleeper, _ := c.Go(func(c *Co) { c.Sleep(time.Millisecond) })
		assert.ErrorIs(t, c.Resume(sleeper.ID()), ErrNotYielded)
		assert.ErrorIs(t, c.Resume(c.ID()), ErrNotYielded, "a running coroutine cannot be resumed")
	})
}

// A timer callback in the run loop resumes a yielded coroutine, as
// Swoole's Timer::after with Co::resume.
func TestResumeFromTimer(t *testing.T) {
	var tr trace
	s := New(Options{})
	require.NoError(t, s.Run(func(c *Co) {
		s.After(time.Millisecond, func() { tr.say("timer"); s.Resume(c.ID()) })
		tr.say("yield")
		c.Yield()
		tr.say("resumed")
	}))
	assert.Equal(t, "yield timer resumed", tr.String())
}

func TestIDsAndParents(t *testing.T) {
	run(t, func(c *Co) {
		assert.Equal(t, int64(1), c.ID())
		assert.Equal(t, int64(0), c.ParentID())
		c.Go(func(c2 *Co) {
			assert.Equal(t, int64(2), c2.ID())
			assert.Equal(t, int64(1), c2.ParentID())
			c2.Go(func(c3 *Co) { assert.Equal(t, int64(2), c3.ParentID()) })
		})
	})
}

// Defers run last in first out when the coroutine exits, not when the
// function that registered them returns.
func TestDeferLIFO(t *testing.T) {
	var tr trace
	helper := func(c *Co) { c.Defer(func() { tr.say("helper's defer") }); tr.say("helper returns") }
	run(t, func(c *Co) {
		c.Go(func(c *Co) {
			c.Defer(func() { tr.say("1") })
			c.Defer(func() { tr.say("2") })
			helper(c)
			c.Defer(func() { tr.say("3") })
			tr.say("body ends")
		})
	})
	assert.Equal(t, "helper returns body ends 3 helper's defer 2 1", tr.String())
}

// A panic ends its coroutine only; the Defers still run, the others go on,
// and the panic is reported with its stack and returned to a joiner.
func TestPanicIsolation(t *testing.T) {
	var tr trace
	var reported []*PanicError
	s := New(Options{OnPanic: func(e *PanicError) { reported = append(reported, e) }})
	require.NoError(t, s.Run(func(c *Co) {
		other, _ := c.Go(func(c *Co) { c.Sleep(2 * time.Millisecond); tr.say("other survives") })
		bad, _ := c.Go(func(c *Co) {
			c.Defer(func() { tr.say("defer ran") })
			c.Sleep(time.Millisecond)
			panic("boom")
		})
		err := c.Join(bad, Forever)
		var pe *PanicError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, "boom", pe.Value)
		c.Join(other, Forever)
	}))
	assert.Equal(t, "defer ran other survives", tr.String())
	require.Len(t, reported, 1)
	assert.Equal(t, int64(3), reported[0].ID)
	assert.Contains(t, string(reported[0].Stack), "TestPanicIsolation", "the stack shows where it panicked")
	assert.Equal(t, int64(1), s.Stats().Panics)
}

func TestJoinTimeout(t *testing.T) {
	run(t, func(c *Co) {
		slow, _ := c.Go(func(c *Co) { c.Sleep(50 * time.Millisecond) })
		assert.ErrorIs(t, c.Join(slow, 5*time.Millisecond), ErrTimeout)
		assert.ErrorIs(t, c.Join(slow, 0), ErrTimeout, "0 does not wait")
		assert.NoError(t, c.Join(slow, Forever))
		assert.True(t, slow.Done())
		assert.NoError(t, c.Join(slow, 0), "joining an exited coroutine returns at once")
	})
}

// Cancel wakes the wait with the reason, and every later blocking
// operation fails at once.
func TestCancelWithReason(t *testing.T) {
	reason := errors.New("client went away")
	var sleepErr, laterErr error
	var slept time.Duration
	run(t, func(c *Co) {
		victim, _ := c.Go(func(c *Co) {
			t0 := time.Now()
			sleepErr = c.Sleep(time.Hour)
			slept = time.Since(t0)
			laterErr = c.Yield()
		})
		victim.Cancel(reason)
		victim.Cancel(errors.New("second reason is ignored"))
		assert.True(t, victim.Done())
	})
	var ce *CanceledError
	require.ErrorAs(t, sleepErr, &ce)
	assert.ErrorIs(t, sleepErr, ErrCanceled)
	assert.ErrorIs(t, sleepErr, reason)
	assert.Equal(t, int64(2), ce.ID)
	assert.Less(t, slept, time.Second)
	assert.ErrorIs(t, laterErr, reason, "a canceled coroutine does not wait again")
}

func TestMaxCoroutines(t *testing.T) {
	s := New(Options{MaxCoroutines: 3})
	var err error
	require.NoError(t, s.Run(func(c *Co) {
		for range 2 {
			_, err = c.Go(func(c *Co) { c.Sleep(time.Millisecond) })
			require.NoError(t, err)
		}
		_, err = c.Go(func(c *Co) {})
	}))
	require.ErrorIs(t, err, ErrTooMany)
	assert.Contains(t, err.Error(), "3 are alive, the limit is 3")
	st := s.Stats()
	assert.Equal(t, 3, st.Peak)
	assert.Equal(t, 0, st.Live)
	assert.Equal(t, int64(3), st.Created)
}

// Context is per coroutine: the same key holds each coroutine's own value.
func TestContextIsolation(t *testing.T) {
	var got trace
	run(t, func(c *Co) {
		for _, user := range []string{"alice", "bob"} {
			c.Go(func(c *Co) {
				c.Context().Set("user", user)
				c.Sleep(time.Millisecond) // the other request runs meanwhile
				got.say(c.Context().Value("user").(string))
			})
		}
		assert.Nil(t, c.Context().Value("user"))
	})
	assert.Equal(t, "alice bob", got.String())
}

func TestStatsCountSwitches(t *testing.T) {
	s := run(t, func(c *Co) {
		child, _ := c.Go(func(c *Co) {
			for range 10 {
				c.Yield()
			}
		})
		for range 10 {
			c.Resume(child.ID())
		}
	})
	assert.Equal(t, int64(12), s.Stats().Switches, "main, the child's start, 10 resumes")
}

// Blocking operations belong to the running coroutine.
func TestWrongCoroutinePanics(t *testing.T) {
	run(t, func(c *Co) {
		other, _ := c.Go(func(c *Co) { c.Yield() })
		assert.PanicsWithValue(t, "coro: Sleep on coroutine 2 from coroutine 1", func() { other.Sleep(0) })
		c.Resume(other.ID())
	})
}
