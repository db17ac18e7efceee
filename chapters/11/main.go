// Chapter 11: generators and a cooperative task scheduler.
//
// Go's iter.Seq is a generator: a billion-element range in constant
// memory. iter.Pull turns it into a coroutine that runs only when asked,
// switching in a few hundred nanoseconds. A loop that resumes such
// coroutines in turn and carries out what they yield is a cooperative
// scheduler: tasks, system calls, and one poll(2) for every socket.
package main

import (
	"fmt"
	"iter"
	"runtime"
	"time"

	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

var info = chapter.Info{
	Number: "11",
	Title:  "Generators and a cooperative task scheduler",
	About: `iter.Seq as a generator: xrange over a billion numbers in constant memory,
against a slice. iter.Pull as a coroutine: the generator runs only when the
caller asks, and a switch costs a fraction of a goroutine handoff over a
channel (measured). Then a round-robin scheduler of tasks built on iter.Pull,
with system calls (my id, spawn, kill, wait for a task, wait for a socket),
serving three echo clients at once from one thread. Nothing to -serve here.`,
	NoServe: "the chapter runs its tasks in-process; run it without -serve",
}

func main() {
	chapter.Main(info, func(n *narrator.Narrator, opts *chapter.Options) error {
		_, err := run(n, opts)
		return err
	}, nil) // Info.NoServe: Parse refuses -serve
}

// settings are the figures of one run; -quick shrinks them.
type settings struct {
	rangeN int // elements xrange produces
	sliceN int // elements of the slice it is compared with
	pulls  int // values pulled per generator flavour
	echo   echoSettings
}

func settingsFor(quick bool) settings {
	if quick {
		return settings{rangeN: 1e8, sliceN: 1e6, pulls: 3e5, echo: echoSettings{clients: 3, messages: 5, think: 10 * time.Millisecond}}
	}
	return settings{rangeN: 1e9, sliceN: 1e7, pulls: 2e6, echo: echoSettings{clients: 3, messages: 10, think: 20 * time.Millisecond}}
}

// result is what one run measured, for the chapter's test.
type result struct {
	Settings settings
	// Xrange and Slice are step 1's two ways to produce numbers.
	Xrange, Slice produced
	// PullOrder is step 2's trace: who ran, in order.
	PullOrder []string
	// PullCost and ChanCost are the time per value of a generator
	// through iter.Pull and through a goroutine and a channel.
	PullCost, ChanCost time.Duration
	// RoundRobin and Syscalls are step 3's traces.
	RoundRobin, Syscalls []string
	Echo                 echoResult
}

func run(n *narrator.Narrator, opts *chapter.Options) (res result, err error) {
	cfg := settingsFor(opts.Quick)
	res.Settings = cfg
	n.Title(info.Number, info.Title)

	n.Step("A generator: xrange as an iter.Seq")
	res.Xrange, res.Slice = compareRange(n, cfg)

	n.Step("iter.Pull: a generator that runs only when asked")
	res.PullOrder = pullOrder(n)
	res.PullCost, res.ChanCost = pullCost(n, cfg.pulls)

	n.Step("Tasks: a round-robin scheduler of coroutines")
	if res.RoundRobin, err = roundRobin(n); err != nil {
		return res, err
	}
	if res.Syscalls, err = syscalls(n); err != nil {
		return res, err
	}

	n.Step("Waiting for sockets: %d echo clients, one thread", cfg.echo.clients)
	if res.Echo, err = echo(n, cfg.echo); err != nil {
		return res, err
	}
	n.Lesson("a generator is a coroutine: it keeps its place between values, so a billion of them take no memory, and iter.Pull switches to it and back in %s, %.1fx cheaper than a goroutine and a channel. A loop that resumes such coroutines in turn and acts on what they yield is a scheduler: tasks that never block, one poll(2) for all their sockets, all on one thread.",
		res.PullCost, float64(res.ChanCost)/float64(res.PullCost))
	return res, nil
}

// ANCHOR: xrange
// xrange yields 0, 1, ..., n-1 one at a time: the loop's state is the
// generator's local i, not a slice of n numbers.
func xrange(n int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := range n {
			if !yield(i) {
				return
			}
		}
	}
}

// ANCHOR_END: xrange

// produced is what summing N numbers cost one way.
type produced struct {
	N         int
	Sum       int
	Allocated uint64 // bytes allocated on the heap while producing and summing
	Took      time.Duration
}

// measure runs f, which sums n numbers, and counts what it allocated.
func measure(n int, f func() int) produced {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	t0 := time.Now()
	sum := f()
	took := time.Since(t0)
	runtime.ReadMemStats(&after)
	return produced{N: n, Sum: sum, Allocated: after.TotalAlloc - before.TotalAlloc, Took: took}
}

func compareRange(n *narrator.Narrator, cfg settings) (gen, slice produced) {
	gen = measure(cfg.rangeN, func() int {
		sum := 0
		for i := range xrange(cfg.rangeN) {
			sum += i
		}
		return sum
	})
	slice = measure(cfg.sliceN, func() int {
		all := make([]int, cfg.sliceN)
		for i := range all {
			all[i] = i
		}
		sum := 0
		for _, v := range all {
			sum += v
		}
		return sum
	})
	t := n.Table("numbers from", "count", "heap allocated", "time", "per number")
	t.Row("for i := range xrange(n)", count(gen.N), sizeOf(gen.Allocated), gen.Took.Round(time.Millisecond), perOp(gen.Took, gen.N))
	t.Row("a slice, then range over it", count(slice.N), sizeOf(slice.Allocated), slice.Took.Round(time.Millisecond), perOp(slice.Took, slice.N))
	t.Print()
	n.Say("the generator kept one int between values; the slice needs 8 bytes per number (%s for a billion)", sizeOf(8e9))
	return gen, slice
}

// ANCHOR: pull-order
// pullOrder shows who runs when: the generator's body runs only inside
// next(), up to its next yield, then the caller continues.
func pullOrder(n *narrator.Narrator) []string {
	var order []string
	say := func(who, format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		order = append(order, who+": "+line)
		n.From(who, 0, "%s", line)
	}
	next, stop := iter.Pull(func(yield func(int) bool) {
		say("generator", "started")
		for i := 1; i <= 2; i++ {
			say("generator", "yield %d", i)
			if !yield(i) {
				say("generator", "told to stop")
				return
			}
		}
	})
	say("caller", "iter.Pull returned; the generator has not run yet")
	for range 2 {
		v, _ := next()
		say("caller", "next() = %d", v)
	}
	say("caller", "stop()")
	stop()
	return order
}

// ANCHOR_END: pull-order

// pullCost measures the time per value of the same generator pulled with
// iter.Pull and fed through a channel by a goroutine.
func pullCost(n *narrator.Narrator, count int) (pull, ch time.Duration) {
	next, stop := iter.Pull(xrange(count))
	t0 := time.Now()
	for _, ok := next(); ok; _, ok = next() {
	}
	pull = time.Since(t0) / time.Duration(count)
	stop()

	values := make(chan int)
	go func() {
		for i := range xrange(count) {
			values <- i
		}
		close(values)
	}()
	t0 = time.Now()
	for range values {
	}
	ch = time.Since(t0) / time.Duration(count)

	t := n.Table("generator", "values", "per value", "how the thread changes hands")
	t.Row("iter.Pull", count, pull, "runtime coroutine switch")
	t.Row("goroutine + chan", count, ch, "park, run queue, wake")
	t.Print()
	n.Say("iter.Pull runs the generator on a goroutine of its own, but hands the thread over directly: one of the two runs at a time, as with any coroutine")
	return pull, ch
}

func count(n int) string {
	switch {
	case n >= 1e9 && n%1e9 == 0:
		return fmt.Sprintf("%d billion", n/1e9)
	case n >= 1e6 && n%1e6 == 0:
		return fmt.Sprintf("%d million", n/1e6)
	}
	return fmt.Sprint(n)
}

func sizeOf(b uint64) string {
	switch {
	case b >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(b)/1e9)
	case b >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(b)/1e6)
	case b >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(b)/1e3)
	}
	return fmt.Sprintf("%d B", b)
}

func perOp(d time.Duration, n int) string {
	return fmt.Sprintf("%.2f ns", float64(d.Nanoseconds())/float64(n))
}
