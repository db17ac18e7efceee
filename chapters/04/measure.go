package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/corofpm/corofpm/tutorial/narrator"
)

// round is what one strategy measured.
type round struct {
	Strategy strategy
	// Conns is how many connections were sent, one at a time.
	Conns int
	// Woken is each waiting thread's rise in voluntary_ctxt_switches: the
	// kernel's wake-ups of that worker, counted by the kernel; Wakeups is
	// their sum.
	Woken   []int
	Wakeups int64
	// Returns and Wasted are the workers' own counts: waits that came back
	// to user space, and of those, the ones whose accept found nothing.
	Returns, Wasted int
	// Accepts are the connections each worker says it accepted; ServedBy
	// are the connections whose answer byte named each worker. They agree
	// when every connection was accepted exactly once.
	Accepts, ServedBy []int
	// CPU is the time the waiting threads spent on a CPU during the round.
	CPU time.Duration
}

// Per divides a count by the number of connections.
func (r round) Per(count int64) float64 { return float64(count) / float64(r.Conns) }

// ANCHOR: measure
// measure starts a pool waiting the way s says, lets every worker fall
// asleep, then sends the connections one at a time: each one is answered,
// then the master waits until every worker sleeps again before the next.
// The kernel's counters are read once before the first connection and
// once after the last.
func measure(n *narrator.Narrator, s strategy, cfg settings) (round, error) {
	r := round{Strategy: s, Conns: cfg.conns, ServedBy: make([]int, cfg.workers)}
	p, err := startPool(s, cfg.workers, false, tagger(n))
	if err != nil {
		return r, err
	}
	defer p.stop()
	n.Detail("%s: workers %v, waiting threads %v on %s", s.Label, pids(p), p.tids, p.sockets[0].Addr)
	p.settle(time.Second)
	before, err := p.sample()
	if err != nil {
		return r, err
	}
	for range cfg.conns {
		w, err := p.connect()
		if err != nil {
			return r, err
		}
		r.ServedBy[w]++
		p.settle(time.Second)
		time.Sleep(cfg.pause)
	}
	after, err := p.sample()
	if err != nil {
		return r, err
	}
	reports, err := p.finish()
	if err != nil {
		return r, err
	}
	for i := range after {
		r.Woken = append(r.Woken, int(after[i].Sleeps-before[i].Sleeps))
		r.Wakeups += int64(r.Woken[i])
		r.CPU += after[i].CPU - before[i].CPU
		r.Returns += reports[i].returns
		r.Wasted += reports[i].wasted
		r.Accepts = append(r.Accepts, reports[i].accepts)
	}
	return r, nil
}

// ANCHOR_END: measure

func pids(p *pool) []int {
	var pids []int
	for _, w := range p.workers {
		pids = append(pids, w.Pid)
	}
	return pids
}

// printRounds prints the herd table, what each row means with its own
// figures, and who took the connections.
func printRounds(n *narrator.Narrator, rounds []round) {
	t := n.Table("strategy", "kernel wake-ups/conn", "returns/conn", "EAGAIN/conn", "conns/worker min-max", "CPU ms")
	for _, r := range rounds {
		t.Row(r.Strategy.Label, r.Per(r.Wakeups), r.Per(int64(r.Returns)), r.Per(int64(r.Wasted)),
			fmt.Sprintf("%d-%d", slices.Min(r.Accepts), slices.Max(r.Accepts)),
			float64(r.CPU)/float64(time.Millisecond))
	}
	t.Print()
	n.Say("kernel wake-ups: rises of voluntary_ctxt_switches; returns: waits that came back to user")
	n.Say("space; EAGAIN: returns whose accept found nothing; CPU: the waiting threads' time on a CPU.")
	d := n.Table("strategy", "wake-ups of worker 0, 1, ...", "connections it accepted")
	for _, r := range rounds {
		d.Row(r.Strategy.Label, perWorker(r.Woken), perWorker(r.Accepts))
	}
	d.Print()
	workers, herd := len(rounds[0].Accepts), 0.0
	for _, r := range rounds {
		if r.Strategy == stratEpoll {
			herd = r.Per(r.Wakeups)
		}
	}
	for _, r := range rounds {
		woke, back, wasted := r.Per(r.Wakeups), r.Per(int64(r.Returns)), r.Per(int64(r.Wasted))
		switch r.Strategy {
		case stratAccept:
			n.Say("a: %.2f wake-ups per connection, and the workers took turns: each accept puts", woke)
			n.Say("   the waiter back at the end of the socket's queue, and the kernel wakes the first.")
		case stratEpoll:
			n.Say("b: each connection woke %.2f of %d workers; %.2f came back to user space, %.2f", woke, workers, back, wasted)
			n.Say("   of them for nothing; the kernel put the rest back to sleep inside epoll_wait.")
		case stratExclusive:
			top := slices.Index(r.Accepts, slices.Max(r.Accepts))
			n.Say("c: %.2f wake-ups per connection, and worker %d took %d of %d: the kernel wakes the", woke, top, r.Accepts[top], r.Conns)
			n.Say("   first exclusive waiter, and an epoll's entry keeps its place in the queue.")
		case stratLock:
			n.Say("d: %.2f returns per connection, none wasted: only the lock holder waits in accept.", back)
			n.Say("   But %.2f wake-ups (plain epoll: %.2f): each hand-over wakes the next in line, and", woke, herd)
			n.Say("   the kernel wakes the lock requests queued behind it to re-sort them. A herd on the lock.")
		case stratReusePort:
			n.Say("e: %.2f wake-ups per connection, one queue per worker; the hash spread them %d-%d.",
				woke, slices.Min(r.Accepts), slices.Max(r.Accepts))
		}
	}
}
