package echo

import (
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corofpm/corofpm/net/reactor"
)

// timerCount is the number of timers, timerSpan the window their
// deadlines are drawn from.
const (
	timerCount = 1_000_000
	timerSpan  = time.Second
)

// timerRun is what one run of the timer benchmark measured.
type timerRun struct {
	// fired counts the callbacks; outOfOrder those whose deadline was
	// before the previous one's, early those that ran before their own.
	fired, outOfOrder, early int
	// schedule is the CPU time the After calls took, fire the CPU time
	// from the last After to the last callback (the loop sleeps in
	// epoll_wait between deadlines: CPU time leaves that out), wall the
	// time from the first After to the last callback.
	schedule, fire, wall time.Duration
}

// BenchmarkTimers is the timer target: 1,000,000 timers with
// random deadlines within a second, set on a running loop and fired in
// deadline order; the figure is CPU time per timer. CPU time is the whole
// process's, garbage collection included: a million timers are a million
// allocations, and collecting them is part of their cost.
func BenchmarkTimers(b *testing.B) {
	r := runTimers(b)
	n := float64(timerCount)
	say.Step("%d reactor timers, deadlines random within %s, set from the loop's thread", timerCount, timerSpan)
	t := say.Table("timers", "fired", "out of order", "early", "set: CPU/timer", "fire: CPU/timer", "CPU/timer", "wall")
	t.Row(timerCount, r.fired, r.outOfOrder, r.early, r.schedule/timerCount, r.fire/timerCount,
		(r.schedule+r.fire)/timerCount, r.wall)
	t.Print()
	say.Say("CPU is user+system time of this process (loop thread and garbage collector); the loop sleeps between deadlines.")
	if r.fired != timerCount || r.outOfOrder != 0 || r.early != 0 {
		b.Errorf("%d of %d timers fired, %d out of deadline order, %d before their deadline",
			r.fired, timerCount, r.outOfOrder, r.early)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(r.schedule.Nanoseconds())/n, "set-ns/timer")
	b.ReportMetric(float64(r.fire.Nanoseconds())/n, "fire-ns/timer")
	b.ReportMetric(float64((r.schedule+r.fire).Nanoseconds())/n, "ns/timer")
}

// runTimers sets timerCount timers on a running loop, all from one turn,
// and checks each as it fires against the one before.
func runTimers(tb testing.TB) timerRun {
	l, err := reactor.New()
	if err != nil {
		tb.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- l.Run() }()
	stop := sync.OnceValue(func() error {
		l.Stop()
		return <-stopped
	})
	defer func() {
		if err := stop(); err != nil {
			tb.Error(err)
		}
	}()
	var r timerRun
	done := make(chan struct{})
	l.Wake(func() {
		rng := rand.New(rand.NewPCG(1, 2))
		timers := make([]*reactor.Timer, timerCount)
		var last time.Time // the deadline of the timer that fired last
		var setDone time.Duration
		cpu0, start := cpuTime(), time.Now()
		for i := range timers {
			timers[i] = l.After(time.Duration(rng.Int64N(int64(timerSpan))), func() {
				when := timers[i].When()
				if when.Before(last) {
					r.outOfOrder++
				}
				if time.Now().Before(when) {
					r.early++
				}
				last = when
				if r.fired++; r.fired == timerCount {
					r.fire, r.wall = cpuTime()-setDone, time.Since(start)
					close(done)
				}
			})
		}
		setDone = cpuTime()
		r.schedule = setDone - cpu0
	})
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		stop() // r is the loop's until it has stopped
		tb.Fatalf("%d of %d timers fired within 30s", r.fired, timerCount)
	}
	return r
}

// cpuTime is the user plus system time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
