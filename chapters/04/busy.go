package main

import (
	"time"

	"github.com/corofpm/corofpm/tutorial/narrator"
)

// busyRound is what a pool measured while its worker 0 was busy.
type busyRound struct {
	Strategy strategy
	// Worker and Wait are per connection, in the order sent: who took it,
	// and how long it waited for its answer.
	Worker []int
	Wait   []time.Duration
	// Stuck counts the connections still unanswered when the free workers
	// had gone quiet, at the moment worker 0 was released: they were in
	// worker 0's own queue, where no other worker could take them.
	Stuck int
}

// group summarises the connections taken by worker 0 (busy true) or by
// the others: how many, and the longest wait.
func (b busyRound) group(busy bool) (count int, worst time.Duration) {
	for i, w := range b.Worker {
		if (w == 0) == busy {
			count++
			worst = max(worst, b.Wait[i])
		}
	}
	return count, worst
}

// answer is one connection of the crowd: which it was, who took it, how
// long it waited.
type answer struct {
	i, worker int
	wait      time.Duration
	err       error
}

// ANCHOR: busy
// measureBusy starts a pool whose worker 0 is busy (in the middle of a
// slow request) and sends cfg.crowd connections, cfg.gap apart. The free
// workers answer what reaches them; once no answer has come for cfg.quiet,
// what is left is stuck, and the master releases worker 0. On a shared
// socket nothing is left; under SO_REUSEPORT the kernel has put some
// connections in worker 0's own queue, and there they wait.
func measureBusy(n *narrator.Narrator, s strategy, cfg settings) (busyRound, error) {
	b := busyRound{Strategy: s, Worker: make([]int, cfg.crowd), Wait: make([]time.Duration, cfg.crowd)}
	p, err := startPool(s, cfg.workers, true, tagger(n))
	if err != nil {
		return b, err
	}
	defer p.stop()
	answers := make(chan answer, cfg.crowd)
	for i := range cfg.crowd {
		go func() {
			start := time.Now()
			w, err := p.connect()
			answers <- answer{i, w, time.Since(start), err}
		}()
		time.Sleep(cfg.gap)
	}
	got := 0
	for quiet := false; got < cfg.crowd && !quiet; {
		select {
		case a := <-answers:
			if a.err != nil {
				return b, a.err
			}
			b.Worker[a.i], b.Wait[a.i] = a.worker, a.wait
			got++
		case <-time.After(cfg.quiet):
			quiet = true
		}
	}
	b.Stuck = cfg.crowd - got
	if err := p.release(); err != nil {
		return b, err
	}
	for ; got < cfg.crowd; got++ { // each connect gives up after 2 s
		a := <-answers
		if a.err != nil {
			return b, a.err
		}
		b.Worker[a.i], b.Wait[a.i] = a.worker, a.wait
	}
	_, err = p.finish()
	return b, err
}

// ANCHOR_END: busy

// worst is a group's worst wait as a table cell: empty for no connection.
func worst(count int, wait time.Duration) any {
	if count == 0 {
		return ""
	}
	return wait
}

// printBusy prints, for each strategy, who served the crowd and how long
// the connections waited.
func printBusy(n *narrator.Narrator, rounds []busyRound, cfg settings) {
	n.Say("worker 0 is busy with a slow request; %d connections arrive %s apart; once the free", cfg.crowd, cfg.gap)
	n.Say("workers have answered nothing for %s, the master ends worker 0's request; the ones", cfg.quiet)
	n.Say("still unanswered then are stuck")
	t := n.Table("strategy", "stuck", "taken by worker 0", "worst wait", "taken by others", "worst wait")
	for _, b := range rounds {
		nb, wb := b.group(true)
		no, wo := b.group(false)
		t.Row(b.Strategy.Label, b.Stuck, nb, worst(nb, wb), no, worst(no, wo))
	}
	t.Print()
	for _, b := range rounds {
		if b.Stuck > 0 {
			n.Say("%s: %d connections sat in worker 0's own queue while %d workers were idle:",
				b.Strategy.Label[3:], b.Stuck, cfg.workers-1)
			n.Say("the kernel picks a socket by a hash of the connection's addresses, not by who is free")
		}
	}
}
