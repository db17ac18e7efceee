package reactor

import (
	"container/heap"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTimersFireInDeadlineOrder sets timers out of order and checks they
// fire nearest first.
func TestTimersFireInDeadlineOrder(t *testing.T) {
	l := start(t)
	fired := make(chan string, 4)
	on(t, l, func() {
		for _, tm := range []struct {
			d    time.Duration
			name string
		}{{30, "c"}, {10, "a"}, {40, "d"}, {20, "b"}} {
			l.After(tm.d*time.Millisecond, func() { fired <- tm.name })
		}
	})
	got := ""
	for range 4 {
		got += <-fired
	}
	assert.Equal(t, "abcd", got)
}

// TestEqualDeadlinesFireInOrderSet checks the heap's tie-break.
func TestEqualDeadlinesFireInOrderSet(t *testing.T) {
	var h timerHeap
	for _, seq := range []uint64{3, 1, 4, 2, 5} {
		heap.Push(&h, &Timer{when: time.Second, seq: seq})
	}
	for want := uint64(1); want <= 5; want++ {
		assert.Equal(t, want, heap.Pop(&h).(*Timer).seq)
	}
}

// TestStopCancels stops a pending timer before it is due: it never fires.
// Stop says true once, then false; a fired one-shot says false.
func TestStopCancels(t *testing.T) {
	l := start(t)
	events := make(chan string, 4)
	on(t, l, func() {
		victim := l.After(30*time.Millisecond, func() { events <- "victim fired" })
		early := l.After(time.Millisecond, func() {
			events <- "early"
		})
		l.After(10*time.Millisecond, func() {
			assert.True(t, victim.Stop(), "pending: Stop cancels it")
			assert.False(t, victim.Stop(), "already stopped")
			assert.False(t, early.Stop(), "already fired")
			events <- "stopped"
		})
		l.After(60*time.Millisecond, func() { events <- "end" })
	})
	var got []string
	for s := range events {
		got = append(got, s)
		if s == "end" {
			break
		}
	}
	assert.Equal(t, []string{"early", "stopped", "end"}, got)
}

// busy spins for d on the loop's thread: a handler doing work.
func busy(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}

// TestEveryDoesNotDrift runs a repeating timer whose callback takes 30%
// of the period. Each deadline is the previous one plus the period, not
// the previous firing plus the period: the work and the lateness do not
// add up. Under load a tick may be skipped; then the step is a whole
// number of periods, never a fraction.
func TestEveryDoesNotDrift(t *testing.T) {
	l := start(t)
	const period, ticks = 10 * time.Millisecond, 15
	deadlines := make(chan time.Time, ticks)
	on(t, l, func() {
		var tm *Timer
		n := 0
		tm = l.Every(period, func() {
			n++
			deadlines <- tm.When().Add(-period) // this tick's deadline
			busy(period * 3 / 10)
			if n == ticks {
				tm.Stop()
			}
		})
	})
	var got []time.Time
	for range ticks {
		select {
		case d := <-deadlines:
			got = append(got, d)
		case <-time.After(10 * time.Second):
			t.Fatal("the timer stopped ticking")
		}
	}
	exact := 0
	for i := 1; i < len(got); i++ {
		step := got[i].Sub(got[i-1])
		require.Positive(t, step)
		assert.Zero(t, step%period, "tick %d: step %v is not a whole number of periods", i, step)
		if step == period {
			exact++
		}
	}
	assert.Greater(t, exact, ticks/2, "most steps are exactly one period")
}

// TestEverySkipsMissedTicks stalls the loop for four periods in the first
// tick: the next tick comes once, late, and its successor is in the
// future; the missed ones do not fire in a burst.
func TestEverySkipsMissedTicks(t *testing.T) {
	l := start(t)
	const period = 5 * time.Millisecond
	type tick struct{ firedAt, next time.Time }
	ticks := make(chan tick, 3)
	on(t, l, func() {
		var tm *Timer
		n := 0
		tm = l.Every(period, func() {
			n++
			ticks <- tick{time.Now(), tm.When()}
			if n == 1 {
				busy(4*period + period/2)
			}
			if n == 3 {
				tm.Stop()
			}
		})
	})
	first, second := <-ticks, <-ticks
	assert.Greater(t, second.firedAt.Sub(first.firedAt), 4*period, "the stall")
	assert.True(t, second.next.After(second.firedAt), "after the late tick, the next deadline %v is in the future (fired at %v)",
		second.next.Sub(second.firedAt), second.firedAt)
	assert.Zero(t, second.next.Sub(first.next)%period, "still on the grid")
	<-ticks
}
