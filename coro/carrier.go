package coro

import "iter"

// idleCarriers is how many finished coroutines' goroutines a scheduler
// keeps for the next Go, as a thread pool keeps its threads. A server's
// coroutines come and go by the thousand a second: a fresh goroutine for
// each costs its creation and, worse, the growth of its stack from 2 KiB
// to what serving a request takes, copied at every doubling. Past this
// many idle, a carrier ends with its coroutine and its stack is freed.
const idleCarriers = 256

// carrier is the goroutine a coroutine runs on, with iter.Pull's pair
// around it: next switches to it, stop ends it. It runs one coroutine
// after another: when one exits, the carrier waits, idle, for Go to hand
// it the next.
type carrier struct {
	s *Scheduler
	// co is the coroutine it runs, nil while idle.
	co    *Co
	next  func() (struct{}, bool)
	stop  func()
	yield func(struct{}) bool
}

// carrierFor gives c a carrier: an idle one if the scheduler has one, a
// new goroutine if not.
func (s *Scheduler) carrierFor(c *Co) {
	var k *carrier
	if n := len(s.idle); n > 0 {
		k = s.idle[n-1]
		s.idle[n-1] = nil
		s.idle = s.idle[:n-1]
	} else {
		k = &carrier{s: s}
		k.next, k.stop = iter.Pull(k.body)
	}
	k.co, c.car = c, k
}

// body is the carrier's goroutine: each coroutine it is given runs to its
// end, then the carrier parks among the idle ones until the next, unless
// there are enough of those already, or the coroutine was killed (stop
// was called: iter.Pull's goroutine must then return).
func (k *carrier) body(yield func(struct{}) bool) {
	k.yield = yield
	for {
		c := k.co
		c.run()
		c.car, k.co = nil, nil
		if c.killed || len(k.s.idle) >= idleCarriers {
			return
		}
		k.s.idle = append(k.s.idle, k)
		if !yield(struct{}{}) { // back to whoever resumed the coroutine
			return // the scheduler is done: see dropCarriers
		}
	}
}

// dropCarriers ends the idle carriers' goroutines, when Run returns.
func (s *Scheduler) dropCarriers() {
	for _, k := range s.idle {
		k.stop()
	}
	s.idle = nil
}
