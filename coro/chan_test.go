package coro

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A Push that finds a consumer waiting resumes it at once: the consumer
// runs before Push returns (Swoole's Channel).
func TestChanHandoffOrder(t *testing.T) {
	var tr trace
	run(t, func(c *Co) {
		ch := NewChan[int](1)
		c.Go(func(c *Co) {
			for {
				v, err := ch.Pop(c, Forever)
				if err != nil {
					tr.say("closed")
					return
				}
				tr.say(fmt.Sprint("pop ", v))
			}
		})
		for i := range 2 {
			tr.say(fmt.Sprint("push ", i))
			require.NoError(t, ch.Push(c, i, Forever))
			tr.say(fmt.Sprint("pushed ", i))
		}
		ch.Close()
		tr.say("end")
	})
	assert.Equal(t, "push 0 pop 0 pushed 0 push 1 pop 1 pushed 1 closed end", tr.String())
}

// A full channel makes the producer wait; a Pop makes room and resumes it.
func TestChanCapacity(t *testing.T) {
	var tr trace
	run(t, func(c *Co) {
		ch := NewChan[string](2)
		c.Go(func(c *Co) {
			for _, v := range []string{"a", "b", "c"} {
				ch.Push(c, v, Forever)
				tr.say("pushed " + v)
			}
		})
		tr.say(fmt.Sprint("len ", ch.Len()))
		for range 3 {
			v, _ := ch.Pop(c, Forever)
			tr.say("popped " + v)
		}
	})
	assert.Equal(t, "pushed a pushed b len 2 pushed c popped a popped b popped c", tr.String())
}

// Capacity 0 is a rendezvous: Push waits for a Pop.
func TestChanRendezvous(t *testing.T) {
	var tr trace
	run(t, func(c *Co) {
		ch := NewChan[error](0)
		c.Go(func(c *Co) {
			tr.say("push")
			ch.Push(c, nil, Forever) // a nil interface value passes too
			tr.say("pushed")
		})
		tr.say("pop")
		v, err := ch.Pop(c, Forever)
		require.NoError(t, err)
		assert.Nil(t, v)
		tr.say("popped")
	})
	assert.Equal(t, "push pop pushed popped", tr.String())
}

func TestChanTimeouts(t *testing.T) {
	run(t, func(c *Co) {
		ch := NewChan[int](1)
		_, err := ch.Pop(c, 0)
		assert.ErrorIs(t, err, ErrTimeout, "0 does not wait")
		t0 := time.Now()
		_, err = ch.Pop(c, 10*time.Millisecond)
		assert.ErrorIs(t, err, ErrTimeout)
		assert.GreaterOrEqual(t, time.Since(t0), 10*time.Millisecond)
		require.NoError(t, ch.Push(c, 1, 0))
		assert.ErrorIs(t, ch.Push(c, 2, 5*time.Millisecond), ErrTimeout, "full")
		assert.Equal(t, 1, ch.Len(), "the timed-out value was not added")
		v, err := ch.Pop(c, 0)
		assert.Equal(t, 1, v)
		assert.NoError(t, err)
	})
}

// Close wakes every waiter with ErrClosed; what was buffered is still
// received, then Pop fails.
func TestChanClose(t *testing.T) {
	var errs []error
	run(t, func(c *Co) {
		empty := NewChan[int](1)
		for range 2 {
			c.Go(func(c *Co) { _, err := empty.Pop(c, Forever); errs = append(errs, err) })
		}
		empty.Close()
		assert.Len(t, errs, 2, "both consumers ran before Close returned")
		assert.ErrorIs(t, empty.Push(c, 1, Forever), ErrClosed)

		full := NewChan[int](1)
		full.Push(c, 7, 0)
		c.Go(func(c *Co) { errs = append(errs, full.Push(c, 8, Forever)) })
		full.Close()
		v, err := full.Pop(c, Forever)
		assert.Equal(t, 7, v)
		assert.NoError(t, err)
		_, err = full.Pop(c, Forever)
		assert.ErrorIs(t, err, ErrClosed)
	})
	require.Len(t, errs, 3)
	for _, err := range errs {
		assert.ErrorIs(t, err, ErrClosed)
	}
}

func TestChanCancel(t *testing.T) {
	var err error
	run(t, func(c *Co) {
		ch := NewChan[int](1)
		waiter, _ := c.Go(func(c *Co) { _, err = ch.Pop(c, Forever) })
		waiter.Cancel(errors.New("shutting down"))
		require.NoError(t, ch.Push(c, 1, 0), "the canceled consumer left the queue")
		assert.Equal(t, 1, ch.Len())
	})
	assert.ErrorIs(t, err, ErrCanceled)
	assert.EqualError(t, err, "coro: coroutine 2 canceled: shutting down")
}

// A channel belongs to one scheduler.
func TestChanTwoSchedulers(t *testing.T) {
	ch := NewChan[int](1)
	run(t, func(c *Co) { ch.Push(c, 1, 0) })
	run(t, func(c *Co) {
		assert.Panics(t, func() { ch.Pop(c, 0) })
	})
}
