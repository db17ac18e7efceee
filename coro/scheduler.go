package coro

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
)

// DefaultMaxCoroutines is the limit when Options.MaxCoroutines is 0:
// Swoole's default max_coroutine.
const DefaultMaxCoroutines = 100000

// Options configure a Scheduler.
type Options struct {
	// MaxCoroutines bounds the live coroutines, so that a flood of requests
	// fails fast with ErrTooMany instead of exhausting memory. 0 means
	// DefaultMaxCoroutines.
	MaxCoroutines int
	// Idler is how the run loop waits when no coroutine can run. nil means
	// a Go timer; a reactor plugs in epoll_wait here.
	Idler Idler
	// OnPanic is told of each coroutine's panic. nil prints it and its
	// stack to stderr: a panic must never pass unseen.
	OnPanic func(*PanicError)
}

// Idler is the run loop's wait, pluggable so that an event loop can wait
// for fds and timers in one system call.
type Idler interface {
	// Idle blocks until deadline, or until Wake is called, or, for an IO
	// idler, until an fd is ready (after dispatching it). A zero deadline
	// means no timer is pending: wait for Wake alone. Idle runs on the
	// scheduler's thread and may resume coroutines.
	Idle(deadline time.Time)
	// Wake makes the current or next Idle return at once. Any goroutine
	// may call it; Post does, after queuing work.
	Wake()
}

// Stats are a scheduler's counters.
type Stats struct {
	// Live is the number of coroutines created and not yet exited.
	Live int
	// Peak is the highest Live has been.
	Peak int
	// Created counts every coroutine ever created.
	Created int64
	// Switches counts resumptions: each is a switch into a coroutine and,
	// later, one back out of it.
	Switches int64
	// Panics counts coroutines that ended in a panic.
	Panics int64
}

// Scheduler runs coroutines one at a time on one thread; see the package
// doc. The zero value is not usable: call New.
type Scheduler struct {
	opts  Options
	idler Idler
	// current is the coroutine running now, nil in the run loop.
	current *Co
	// live holds every coroutine not yet exited, by id: for Resume by id,
	// Stats and the deadlock report.
	live   map[int64]*Co
	nextID int64
	// timers is the timer heap: sleeps, timeouts and After callbacks.
	timers timerHeap
	// timerSeq numbers timers, to keep equal deadlines in order and to let
	// one turn of the loop fire only the timers that existed when it began.
	timerSeq uint64
	// parked counts coroutines in Token.Wait: an event source outside the
	// scheduler may wake them, so they are not deadlocked.
	parked int
	// idle are the carriers of exited coroutines, for the next Go.
	idle  []*carrier
	stats Stats
	// mu guards posted, the one piece of state other goroutines touch.
	mu     sync.Mutex
	posted []func()
}

// New returns a scheduler; Run starts it.
func New(opts Options) *Scheduler {
	if opts.MaxCoroutines <= 0 {
		opts.MaxCoroutines = DefaultMaxCoroutines
	}
	if opts.OnPanic == nil {
		opts.OnPanic = func(e *PanicError) { fmt.Fprintf(os.Stderr, "%v\n%s\n", e, e.Stack) }
	}
	idler := opts.Idler
	if idler == nil {
		idler = &timerIdler{wake: make(chan struct{}, 1)}
	}
	return &Scheduler{opts: opts, idler: idler, live: map[int64]*Co{}}
}

// ANCHOR: run-loop
// Run locks the calling goroutine to its thread, runs main as the first
// coroutine, then runs the loop until no coroutine is alive and no timer
// is pending: drain what other goroutines posted, fire the due timers
// (which resume sleepers and time out waits), and when nothing is left to
// do now, idle until the next timer. It returns a *DeadlockError when
// coroutines are alive but nothing could ever wake them.
func (s *Scheduler) Run(main func(*Co)) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer s.dropCarriers()
	if _, err := s.Go(main); err != nil {
		return err
	}
	for len(s.live) > 0 || s.timers.Len() > 0 {
		s.drain()
		s.fire(time.Now())
		if len(s.live) > 0 && s.timers.Len() == 0 && s.parked == 0 && !s.hasPosted() {
			return s.deadlock()
		}
		if s.timers.Len() > 0 || s.parked > 0 {
			s.idler.Idle(s.nextDeadline())
		}
	}
	return nil
}

// ANCHOR_END: run-loop

// ANCHOR: go
// Go creates a coroutine running fn and runs it at once, until it
// suspends or exits; then Go returns, in the creator. Its parent is the
// coroutine running now (0 from the run loop).
func (s *Scheduler) Go(fn func(*Co)) (*Co, error) {
	if len(s.live) >= s.opts.MaxCoroutines {
		return nil, fmt.Errorf("%w: %d are alive, the limit is %d (Options.MaxCoroutines)",
			ErrTooMany, len(s.live), s.opts.MaxCoroutines)
	}
	s.nextID++
	c := &Co{s: s, id: s.nextID, fn: fn}
	if s.current != nil {
		c.parent = s.current.id
	}
	s.carrierFor(c)
	s.live[c.id] = c
	s.stats.Created++
	s.stats.Peak = max(s.stats.Peak, len(s.live))
	s.switchTo(c)
	return c, nil
}

// switchTo resumes c and returns when c suspends or exits: the one place
// a coroutine is entered.
func (s *Scheduler) switchTo(c *Co) {
	prev := s.current
	s.current = c
	c.state = running
	s.stats.Switches++
	c.car.next()
	s.current = prev
}

// ANCHOR_END: go

// Resume resumes the coroutine id, which must be suspended in Yield, and
// returns when it suspends again or exits.
func (s *Scheduler) Resume(id int64) error {
	c := s.live[id]
	if c == nil {
		return fmt.Errorf("coro: resume %d: %w", id, ErrNoCoroutine)
	}
	if c.state != suspended || c.wait.kind != waitYield {
		return fmt.Errorf("coro: resume %d: %w", id, ErrNotYielded)
	}
	s.wake(c, nil)
	return nil
}

// Current is the coroutine running now, nil in the run loop.
func (s *Scheduler) Current() *Co { return s.current }

// Lookup returns the live coroutine id, or nil.
func (s *Scheduler) Lookup(id int64) *Co { return s.live[id] }

// Stats returns the counters as they are now.
func (s *Scheduler) Stats() Stats {
	st := s.stats
	st.Live = len(s.live)
	return st
}

// After runs fn on the scheduler's thread, from the run loop, once d has
// passed, unless the returned stop is called first (stop reports whether
// it prevented the call). Like Swoole's Timer::after, fn may resume
// coroutines or create new ones.
func (s *Scheduler) After(d time.Duration, fn func()) (stop func() bool) {
	t := s.addTimer(d, fn)
	return func() bool { return s.stopTimer(t) }
}

// Post queues fn to run on the scheduler's thread, from the run loop, and
// wakes the loop. It is the one method any goroutine may call: how
// another thread hands work to this one.
func (s *Scheduler) Post(fn func()) {
	s.mu.Lock()
	s.posted = append(s.posted, fn)
	s.mu.Unlock()
	s.idler.Wake()
}

func (s *Scheduler) hasPosted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.posted) > 0
}

// drain runs what was posted, in order.
func (s *Scheduler) drain() {
	s.mu.Lock()
	fns := s.posted
	s.posted = nil
	s.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// wake resumes c, suspended, with err as the result of its wait: it
// leaves whatever queue and timer the wait had, then switches to c.
func (s *Scheduler) wake(c *Co, err error) {
	w := c.wait
	if w.queue != nil {
		w.queue.Remove(w.elem)
	}
	if w.timer != nil {
		s.stopTimer(w.timer)
	}
	if w.token != nil {
		w.token.state = tokenDone
		s.parked--
	}
	c.wakeErr = err
	s.switchTo(c)
}

// timerIdler is the default Idler: a Go timer, or a wake-up.
type timerIdler struct {
	// wake has room for one token, so a Wake before Idle is not lost.
	wake chan struct{}
}

func (t *timerIdler) Idle(deadline time.Time) {
	if deadline.IsZero() {
		<-t.wake
		return
	}
	d := time.Until(deadline)
	if d <= 0 {
		return
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-t.wake:
	case <-tm.C:
	}
}

func (t *timerIdler) Wake() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}
