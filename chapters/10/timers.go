package main

import (
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/corofpm/corofpm/net/reactor"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"golang.org/x/sys/unix"
)

// timers is what step 2 measured.
type timers struct {
	// Order is the one-shot timers in the order they fired.
	Order []firing
	// Stopped is what Stop said for the cancelled timer, and
	// StoppedFired whether it fired all the same.
	Stopped, StoppedFired bool
	// Every and Chained are how late each tick came, against the grid
	// start + k × period: for Every, and for a chain of After set at the
	// end of each tick's work, the naive way.
	Every, Chained []time.Duration
	// LoopTid is the loop's thread; WakeTid and SignalTid are the threads
	// a Wake'd function (sent from FromTid) and a signal handler ran on.
	LoopTid, FromTid, WakeTid, SignalTid int
	// WakeDelay and SignalDelay are from the Wake or kill(2) call to the
	// function running on the loop.
	WakeDelay, SignalDelay time.Duration
}

// firing is one one-shot timer: its name, its delay, when it fired.
type firing struct {
	Name     string
	Set, Got time.Duration
}

// onLoop runs f on l's thread and waits for f to call its done.
func onLoop(l *reactor.Loop, f func(done func())) {
	ch := make(chan struct{})
	l.Wake(func() { f(func() { close(ch) }) })
	<-ch
}

func runTimers(n *narrator.Narrator, cfg settings) (tm timers, err error) {
	l, err := reactor.New()
	if err != nil {
		return tm, err
	}
	ran := make(chan error, 1)
	go func() { ran <- l.Run() }()
	defer func() { l.Stop(); <-ran }()

	onLoop(l, func(done func()) { oneShots(l, &tm, done) })
	t := n.Table("timer", "set for", "fired at")
	for _, f := range tm.Order {
		t.Row(f.Name, f.Set, f.Got)
	}
	t.Row("cancelled", 4*unit, fmt.Sprintf("never: stopped at %v, Stop() = %v", 2*unit, tm.Stopped))
	t.Print()
	n.Say("four After() set out of order fire nearest first: the heap's top is the next")
	n.Say("deadline, and epoll_wait sleeps exactly until it.")

	onLoop(l, func(done func()) { repeat(l, cfg, true, &tm.Every, done) })
	onLoop(l, func(done func()) { repeat(l, cfg, false, &tm.Chained, done) })
	n.Say("\na tick every %v, each doing %v of work; how late is tick k against start + k × %v?", cfg.period, cfg.work, cfg.period)
	t = n.Table("tick", "Every", "After at the end of each tick")
	for _, k := range []int{1, 2, 5, 10, cfg.ticks} {
		t.Row(k, tm.Every[k-1], tm.Chained[k-1])
	}
	t.Print()
	n.Say("Every sets each deadline from the previous deadline; the chain from the end of")
	n.Say("the work, so every tick's work and lateness push all the later ones back.")

	wakeAndSignal(l, &tm)
	n.Say("\nthe loop runs on thread %d (runtime.LockOSThread)", tm.LoopTid)
	n.Say("Wake from a goroutine on thread %d: ran on thread %d, %v later (eventfd write, epoll_wait returns)",
		tm.FromTid, tm.WakeTid, tm.WakeDelay.Round(time.Microsecond))
	n.Say("SIGUSR1 sent to pid %d: handled on thread %d, %v after kill(2) (os/signal, then Wake)",
		os.Getpid(), tm.SignalTid, tm.SignalDelay.Round(time.Microsecond))
	return tm, nil
}

// unit is the step of the one-shot timers' delays.
const unit = 40 * time.Millisecond

// ANCHOR: oneshots
// oneShots sets four timers out of order, cancels one before it is due,
// and records the order they fire in.
func oneShots(l *reactor.Loop, tm *timers, done func()) {
	start := time.Now()
	at := func(name string, d time.Duration) {
		l.After(d, func() { tm.Order = append(tm.Order, firing{name, d, time.Since(start)}) })
	}
	at("third", 3*unit)
	at("first", unit)
	victim := l.After(4*unit, func() { tm.StoppedFired = true })
	at("second", 2*unit)
	l.After(2*unit, func() { tm.Stopped = victim.Stop() })
	l.After(5*unit, done)
}

// ANCHOR_END: oneshots

// ANCHOR: repeat
// repeat ticks cfg.ticks times, each tick busy for cfg.work, with Every
// or with a chain of After, and records each tick's lateness.
func repeat(l *reactor.Loop, cfg settings, every bool, late *[]time.Duration, done func()) {
	start := time.Now()
	var tick func()
	var timer *reactor.Timer
	tick = func() {
		since := time.Since(start)
		k := time.Duration(len(*late) + 1)
		if every {
			// Every skips the grid points a stalled loop missed rather
			// than firing them in a burst: measure each tick against
			// the grid point it fires for, the last one passed.
			k = max(k, since/cfg.period)
		}
		*late = append(*late, since-k*cfg.period)
		busy(cfg.work)
		switch {
		case len(*late) == cfg.ticks:
			if every {
				timer.Stop()
			}
			done()
		case !every:
			l.After(cfg.period, tick) // from now: after the work
		}
	}
	if every {
		timer = l.Every(cfg.period, tick)
	} else {
		l.After(cfg.period, tick)
	}
}

// ANCHOR_END: repeat

// busy spins for d: a handler doing work on the loop's thread.
func busy(d time.Duration) {
	for t := time.Now(); time.Since(t) < d; {
	}
}

// wakeAndSignal sends the loop a function from another thread, then a
// signal, and records which thread each ran on.
func wakeAndSignal(l *reactor.Loop, tm *timers) {
	onLoop(l, func(done func()) { tm.LoopTid = unix.Gettid(); done() })
	ran := make(chan struct{})
	go func() {
		runtime.LockOSThread() // a thread of its own, to tell it apart
		defer runtime.UnlockOSThread()
		tm.FromTid = unix.Gettid()
		sent := time.Now()
		l.Wake(func() {
			tm.WakeDelay, tm.WakeTid = time.Since(sent), unix.Gettid()
			close(ran)
		})
	}()
	<-ran

	caught := make(chan struct{})
	base := time.Now()
	var sent atomic.Int64 // since base; the kernel's delivery is no sync point for the race detector
	onLoop(l, func(done func()) {
		l.OnSignal(func(os.Signal) {
			tm.SignalDelay, tm.SignalTid = time.Since(base)-time.Duration(sent.Load()), unix.Gettid()
			close(caught)
		}, syscall.SIGUSR1)
		done()
	})
	sent.Store(int64(time.Since(base)))
	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	<-caught
}
