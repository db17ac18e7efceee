package coro

import (
	"container/heap"
	"time"
)

// timer is one entry of the scheduler's timer heap.
type timer struct {
	when time.Time
	// seq orders timers of equal deadline by creation.
	seq uint64
	fn  func()
	// index is its place in the heap, -1 once fired or stopped.
	index int
}

// timerHeap is a min-heap by (when, seq): the next timer to fire on top,
// what the run loop sleeps until.
type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].when.Equal(h[j].when) {
		return h[i].seq < h[j].seq
	}
	return h[i].when.Before(h[j].when)
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}

func (s *Scheduler) addTimer(d time.Duration, fn func()) *timer {
	s.timerSeq++
	t := &timer{when: time.Now().Add(d), seq: s.timerSeq, fn: fn}
	heap.Push(&s.timers, t)
	return t
}

// stopTimer removes t from the heap; it reports false if t had fired or
// was stopped already.
func (s *Scheduler) stopTimer(t *timer) bool {
	if t.index < 0 {
		return false
	}
	heap.Remove(&s.timers, t.index)
	return true
}

// fire runs the timers due at now, in deadline order, but only those that
// existed when it began: a coroutine that sleeps 0 in a loop gets one turn
// per loop, not all of them.
func (s *Scheduler) fire(now time.Time) {
	last := s.timerSeq
	for s.timers.Len() > 0 {
		t := s.timers[0]
		if t.when.After(now) || t.seq > last {
			return
		}
		heap.Pop(&s.timers)
		t.fn()
	}
}

// nextDeadline is when the next timer fires, zero if there is none.
func (s *Scheduler) nextDeadline() time.Time {
	if s.timers.Len() == 0 {
		return time.Time{}
	}
	return s.timers[0].when
}
