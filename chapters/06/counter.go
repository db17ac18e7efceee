package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/fpm/shm"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

// The segment of step 2. Each word has a cache line of its own, so that
// one round's traffic does not slow another's word.
const (
	offStart   = 0   // uint32: 1 when the processes may start
	offReady   = 64  // uint32: how many processes wait for the start
	offCounter = 128 // uint64: the counter the round increments
	offLock    = 192 // uint32: the spinlock of the "spinlock" round
	counterLen = 4096
)

// The three ways to increment, by name (the child's argument).
var methods = []struct{ name, how string }{
	{"plain", "load, add 1, store: C's counter++ on shared memory"},
	{"atomic", "one LOCK XADD: sync/atomic's Add"},
	{"spinlock", "plain load and store, inside shm.Spinlock"},
}

// counterRound is one method's result.
type counterRound struct {
	Method        string
	Expected, Got uint64
	Took          time.Duration
}

// Lost is how many increments vanished.
func (r counterRound) Lost() uint64 { return r.Expected - r.Got }

// ANCHOR: increment
// plainAdd is counter++: a load, then a store of the value plus one. Two
// processes that load the same value both store value+1, and one increment
// is lost. (noinline keeps the compiler from folding the loop's loads and
// stores into one.)
//
//go:noinline
func plainAdd(p *uint64) { *p = *p + 1 }

// increment adds 1 to the counter n times, the way method says.
func increment(seg *shm.Segment, method string, n int) {
	switch method {
	case "plain":
		p := shm.At[uint64](seg, offCounter)
		for range n {
			plainAdd(p)
		}
	case "atomic":
		c := seg.Uint64(offCounter)
		for range n {
			c.Add(1)
		}
	case "spinlock":
		lock, p := seg.Spinlock(offLock), shm.At[uint64](seg, offCounter)
		for range n {
			lock.Lock()
			plainAdd(p)
			lock.Unlock()
		}
	}
}

// ANCHOR_END: increment

// countMain is a process of step 2: it says it is ready, waits for the
// start so that all of them run at once, and increments.
func countMain(c *proc.Child) error {
	if len(c.Args) != 2 || len(c.Files) != 1 {
		return fmt.Errorf("want a method, a count and the segment")
	}
	n, err := strconv.Atoi(c.Args[1])
	if err != nil {
		return err
	}
	seg, err := shm.Open(c.Files[0])
	if err != nil {
		return err
	}
	defer seg.Close()
	seg.Uint32(offReady).Add(1)
	for seg.Uint32(offStart).Load() == 0 {
		// Spin, not sleep: a sleeper wakes tens of microseconds late, and
		// the rounds are short enough for that to keep the processes apart.
	}
	increment(seg, c.Args[0], n)
	return nil
}

// counters runs step 2: one round per method, each with fresh processes
// and a fresh counter.
func counters(n *narrator.Narrator, cfg settings) ([]counterRound, error) {
	seg, err := shm.Create("counter", counterLen)
	if err != nil {
		return nil, err
	}
	defer seg.Close()
	var rounds []counterRound
	for _, m := range methods {
		r, err := countRound(seg, m.name, cfg)
		if err != nil {
			return nil, err
		}
		rounds = append(rounds, r)
	}
	t := n.Table("method", "how", "expected", "counted", "lost", "ns/increment")
	for i, r := range rounds {
		t.Row(r.Method, methods[i].how, r.Expected, r.Got, r.Lost(),
			float64(r.Took.Nanoseconds())/float64(r.Expected))
	}
	t.Print()
	n.Say("ns/increment is the round's wall time over all increments, %d processes on %d CPUs", cfg.procs, runtime.NumCPU())
	if plain := rounds[0]; plain.Lost() > 0 {
		n.Say("the plain counter lost %d of %d increments (%.1f%%): two CPUs loaded the same value, both stored value+1",
			plain.Lost(), plain.Expected, 100*float64(plain.Lost())/float64(plain.Expected))
	} else {
		n.Say("the plain counter lost nothing this time: the processes did not overlap on a CPU at the wrong moment.")
		n.Say("That is luck, not correctness: run the chapter again.")
	}
	return rounds, nil
}

// countRound starts cfg.procs processes incrementing with method, starts
// them together and waits for them.
func countRound(seg *shm.Segment, method string, cfg settings) (counterRound, error) {
	r := counterRound{Method: method, Expected: uint64(cfg.procs * cfg.increments)}
	seg.Uint32(offStart).Store(0)
	seg.Uint32(offReady).Store(0)
	seg.Uint64(offCounter).Store(0)
	var ps []*proc.Process
	defer func() {
		for _, p := range ps {
			p.Wait() // reaped on every path; after a normal end, at once
		}
	}()
	for range cfg.procs {
		p, err := proc.Start(proc.Spec{Role: "count", Args: []string{method, strconv.Itoa(cfg.increments)},
			Files: []*os.File{seg.File()}, Stderr: os.Stderr})
		if err != nil {
			seg.Uint32(offStart).Store(1) // let those started finish
			return r, err
		}
		ps = append(ps, p)
	}
	deadline := time.Now().Add(10 * time.Second)
	for seg.Uint32(offReady).Load() < uint32(cfg.procs) {
		if time.Now().After(deadline) {
			seg.Uint32(offStart).Store(1)
			return r, fmt.Errorf("%s: %d of %d processes ready after 10 s", method, seg.Uint32(offReady).Load(), cfg.procs)
		}
		time.Sleep(100 * time.Microsecond)
	}
	began := time.Now()
	seg.Uint32(offStart).Store(1)
	for _, p := range ps {
		st, err := p.Wait()
		if err != nil {
			return r, err
		}
		if st.Code != 0 || !st.Exited {
			return r, fmt.Errorf("%s: process %d %s", method, p.Pid, st)
		}
	}
	r.Took = time.Since(began)
	r.Got = seg.Uint64(offCounter).Load()
	return r, nil
}
