package reactor

import (
	"container/heap"
	"time"
)

// Timer is a function set to run on the loop's thread at a deadline, once
// (After) or every period (Every). Stop cancels it.
type Timer struct {
	// loop owns the heap the timer is in.
	loop *Loop
	// when is the deadline, as a duration since the loop's epoch.
	when time.Duration
	// period is the interval of a repeating timer, 0 for a one-shot.
	period time.Duration
	// seq breaks ties: of two timers due at the same time, the one set
	// first fires first.
	seq uint64
	// f is what runs.
	f func()
	// index is the timer's place in the heap, -1 when it is not pending:
	// it lets Stop remove it in O(log n) without a search.
	index int
}

// After runs f on the loop's thread once, d from now.
func (l *Loop) After(d time.Duration, f func()) *Timer {
	return l.schedule(d, 0, f)
}

// Every runs f on the loop's thread every d, the first time d from now,
// until Stop. The deadlines are fixed multiples of d from the start, so a
// late tick does not delay the next ones (no drift accumulates); ticks
// missed entirely, because the loop was busy for more than d, are skipped
// rather than fired in a burst. d must be positive.
func (l *Loop) Every(d time.Duration, f func()) *Timer {
	if d <= 0 {
		panic("reactor: Every with a period of " + d.String())
	}
	return l.schedule(d, d, f)
}

func (l *Loop) schedule(d, period time.Duration, f func()) *Timer {
	l.seq++
	t := &Timer{loop: l, when: l.now() + max(d, 0), period: period, seq: l.seq, f: f}
	heap.Push(&l.timers, t)
	return t
}

// Stop cancels the timer and reports whether it was pending: false when a
// one-shot has already fired or the timer was stopped before. A repeating
// timer may stop itself from its own callback.
func (t *Timer) Stop() bool {
	if t.index < 0 {
		return false
	}
	heap.Remove(&t.loop.timers, t.index)
	return true
}

// When is the deadline the timer is set for. Inside a repeating timer's
// callback it is already the next tick's: this tick's is When() minus the
// period.
func (t *Timer) When() time.Time { return t.loop.epoch.Add(t.when) }

// ANCHOR: fire
// fireTimers runs every timer that is due, nearest deadline first. A
// repeating timer is put back before its callback runs, at its previous
// deadline plus its period: not at now plus the period, which would add
// each tick's lateness to every later tick.
func (l *Loop) fireTimers() {
	now := l.now()
	for len(l.timers) > 0 && l.timers[0].when <= now {
		t := l.timers[0]
		if t.period > 0 {
			t.when += t.period
			if t.when <= now { // the loop fell a whole period behind: skip
				t.when += ((now-t.when)/t.period + 1) * t.period
			}
			heap.Fix(&l.timers, 0)
		} else {
			heap.Pop(&l.timers)
		}
		t.f()
	}
}

// ANCHOR_END: fire

// ANCHOR: heap
// timerHeap is a min-heap of timers by deadline, for container/heap: the
// nearest deadline is always timers[0], and adding or removing one costs
// O(log n) whatever the number of timers.
type timerHeap []*Timer

// timeout is how long epoll_wait may sleep: until the nearest deadline,
// or for ever (-1) when no timer is pending.
func (h timerHeap) timeout(now time.Duration) time.Duration {
	if len(h) == 0 {
		return -1
	}
	return max(h[0].when-now, 0)
}

// ANCHOR_END: heap

func (h timerHeap) Len() int { return len(h) }

func (h timerHeap) Less(i, j int) bool {
	if h[i].when != h[j].when {
		return h[i].when < h[j].when
	}
	return h[i].seq < h[j].seq
}

func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h *timerHeap) Push(x any) {
	t := x.(*Timer)
	t.index = len(*h)
	*h = append(*h, t)
}

func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil // no reference left for the GC to follow
	t.index = -1
	*h = old[:len(old)-1]
	return t
}
