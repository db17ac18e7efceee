// Chapter 12: the coroutine runtime. The coro package's scheduler shown at
// work: the exact order of execution, Defer at coroutine exit, thousands
// of sleeping coroutines on one thread, per-coroutine context, a panic
// and a deadlock reported, and what one blocking call does to everyone.
package main

import (
	"fmt"
	"runtime"
	"time"

	"github.com/corofpm/corofpm/coro"
	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

var info = chapter.Info{
	Number: "12",
	Title:  "The coroutine runtime",
	About: `The coro package at work, Swoole's concepts in Go: Go, Sleep, Chan,
WaitGroup, Defer, Context. The exact order of execution of a strict
handoff, Defer's LIFO at coroutine exit against Go's defer, thousands of
coroutines sleeping at once on one thread (memory per coroutine measured),
a panic and a deadlock reported instead of a crash or a hang, and a blocking
call stalling every coroutine, against goroutines. Nothing to -serve here.`,
	NoServe: "the chapter runs its coroutines in-process; run it without -serve",
}

func main() {
	chapter.Main(info, func(n *narrator.Narrator, opts *chapter.Options) error {
		_, err := run(n, opts)
		return err
	}, nil) // Info.NoServe: Parse refuses -serve
}

// settings are the figures of one run; -quick shrinks them. The quick
// crowd stays under the race detector's limit of 8128 live goroutines,
// since every coroutine is a goroutine.
type settings struct {
	crowd int           // coroutines sleeping at once
	nap   time.Duration // how long each sleeps
	tick  time.Duration // the ticker's period in the stall test
	block time.Duration // the blocking call's length
}

func settingsFor(quick bool) settings {
	if quick {
		return settings{crowd: 5000, nap: 100 * time.Millisecond, tick: 5 * time.Millisecond, block: 100 * time.Millisecond}
	}
	return settings{crowd: 100000, nap: time.Second, tick: 10 * time.Millisecond, block: 300 * time.Millisecond}
}

// result is what one run measured, for the chapter's test.
type result struct {
	Settings settings
	// Order and Defers are the traces of steps 1 and 2.
	Order, Defers []string
	Crowd         crowdResult
	Context       []string
	Panic         *coro.PanicError
	Deadlock      *coro.DeadlockError
	Stall         []stallRow
}

func run(n *narrator.Narrator, opts *chapter.Options) (res result, err error) {
	cfg := settingsFor(opts.Quick)
	res.Settings = cfg
	n.Title(info.Number, info.Title)

	n.Step("The order of execution: a strict handoff")
	if res.Order, err = order(n); err != nil {
		return res, err
	}
	n.Step("Defer: last in, first out, when the coroutine exits")
	if res.Defers, err = defers(n); err != nil {
		return res, err
	}
	n.Step("%d coroutines sleep at once on one thread", cfg.crowd)
	if res.Crowd, err = crowd(n, cfg); err != nil {
		return res, err
	}
	n.Step("Per-coroutine context: per-request state that cannot leak")
	if res.Context, err = contexts(n); err != nil {
		return res, err
	}
	n.Step("A panic and a deadlock: reported, not a crash or a hang")
	if res.Panic, res.Deadlock, err = failures(n); err != nil {
		return res, err
	}
	n.Step("One blocking call stalls every coroutine")
	if res.Stall, err = stall(n, cfg); err != nil {
		return res, err
	}
	blocked := res.Stall[1]
	n.Lesson("coroutines run one at a time, in an order the program fixes, and switch only where they wait: so %d of them sleep together on one thread at %s each, but a single blocking call held the ticker for %s, where goroutines lost nothing.",
		cfg.crowd, sizeOf(res.Crowd.BytesPer), blocked.MaxGap.Round(time.Millisecond))
	return res, nil
}

// tracer keeps what coroutines say, in order, and prints it tagged.
type tracer struct {
	n     *narrator.Narrator
	lines []string
}

func (tr *tracer) say(c *coro.Co, format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	tr.lines = append(tr.lines, line)
	tr.n.From(fmt.Sprintf("co %d", c.ID()), 0, "%s", line)
}

// ANCHOR: order
// order is Swoole's classic: go() runs the child at once, until it waits;
// a Push to a waiting consumer runs the consumer before Push returns.
func order(n *narrator.Narrator) ([]string, error) {
	tr := &tracer{n: n}
	err := coro.New(coro.Options{}).Run(func(c *coro.Co) {
		tr.say(c, "1 main starts")
		c.Go(func(c *coro.Co) {
			tr.say(c, "2 child starts, sleeps")
			c.Sleep(time.Millisecond)
			tr.say(c, "8 child wakes from its timer")
		})
		tr.say(c, "3 main again: the child is asleep")
		ch := coro.NewChan[string](1)
		c.Go(func(c *coro.Co) {
			tr.say(c, "4 consumer waits in Pop")
			v, _ := ch.Pop(c, coro.Forever)
			tr.say(c, "6 consumer got %q", v)
		})
		tr.say(c, "5 main pushes")
		ch.Push(c, "hello", coro.Forever)
		tr.say(c, "7 main: Push returned, main exits")
	})
	return tr.lines, err
}

// ANCHOR_END: order

// ANCHOR: defer
// defers registers a Defer and a Go defer from a helper function: Go's
// runs when the helper returns, the coroutine's when the coroutine ends.
func defers(n *narrator.Narrator) ([]string, error) {
	tr := &tracer{n: n}
	err := coro.New(coro.Options{}).Run(func(c *coro.Co) {
		c.Defer(func() { tr.say(c, "Defer 1 (registered first, runs last)") })
		openResource := func() {
			defer tr.say(c, "Go's defer: the helper returns")
			c.Defer(func() { tr.say(c, "Defer 2 (from the helper)") })
		}
		openResource()
		c.Defer(func() { tr.say(c, "Defer 3 (registered last, runs first)") })
		tr.say(c, "the coroutine's function returns")
	})
	return tr.lines, err
}

// ANCHOR_END: defer

type crowdResult struct {
	Elapsed  time.Duration
	Stats    coro.Stats
	BytesPer uint64 // heap and stacks per suspended coroutine
}

// ANCHOR: crowd
// crowd starts cfg.crowd coroutines that each sleep cfg.nap and report to
// a WaitGroup, then measures what they cost while all of them sleep.
func crowd(n *narrator.Narrator, cfg settings) (res crowdResult, err error) {
	var before, during runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := coro.New(coro.Options{MaxCoroutines: cfg.crowd + 1})
	t0 := time.Now()
	err = s.Run(func(c *coro.Co) {
		var wg coro.WaitGroup
		for range cfg.crowd {
			wg.Add(1)
			if _, err := c.Go(func(c *coro.Co) {
				defer wg.Done()
				c.Sleep(cfg.nap)
			}); err != nil {
				panic(err)
			}
		}
		runtime.ReadMemStats(&during)
		wg.Wait(c, coro.Forever)
	})
	res.Elapsed, res.Stats = time.Since(t0), s.Stats()
	used := (during.HeapInuse + during.StackInuse) - (before.HeapInuse + before.StackInuse)
	res.BytesPer = used / uint64(cfg.crowd)
	t := n.Table("coroutines", "each sleeps", "all done in", "peak live", "switches", "memory each")
	t.Row(cfg.crowd, cfg.nap, res.Elapsed.Round(time.Millisecond), res.Stats.Peak, res.Stats.Switches, sizeOf(res.BytesPer))
	t.Print()
	n.Say("the sleeps overlap: the run loop sleeps until the next timer, then resumes whoever it was for")
	return res, err
}

// ANCHOR_END: crowd

// contexts runs two "requests" that keep their user in a global and in
// their Context, and sleep in between, as a request waits on a database.
func contexts(n *narrator.Narrator) ([]string, error) {
	tr := &tracer{n: n}
	var global string // what a PHP script's global would be under coroutines
	err := coro.New(coro.Options{}).Run(func(c *coro.Co) {
		for _, user := range []string{"alice", "bob"} {
			c.Go(func(c *coro.Co) {
				global = user
				c.Context().Set("user", user)
				c.Sleep(time.Millisecond) // the other request runs meanwhile
				tr.say(c, "request of %s: global says %s, Context says %s", user, global, c.Context().Value("user"))
			})
		}
	})
	n.Say("the global was overwritten by the other request while this one waited; the Context was not")
	return tr.lines, err
}

func sizeOf(b uint64) string {
	if b >= 1e3 {
		return fmt.Sprintf("%.1f kB", float64(b)/1e3)
	}
	return fmt.Sprintf("%d B", b)
}
