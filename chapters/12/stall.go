package main

import (
	"sync"
	"time"

	"github.com/corofpm/corofpm/coro"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

// stallRow is one way of waiting, and what the ticker suffered meanwhile.
type stallRow struct {
	Who, Wait string
	// MaxGap is the longest time between two of the ticker's ticks.
	MaxGap time.Duration
}

// ANCHOR: stall
// stall runs a ticker (every cfg.tick) beside a task that waits cfg.block,
// three ways: a coroutine in coro's Sleep, a coroutine in time.Sleep (a
// plain blocking call, as a blocking read would be), and goroutines.
func stall(n *narrator.Narrator, cfg settings) ([]stallRow, error) {
	rows := []stallRow{
		{Who: "coroutines", Wait: "c.Sleep"},
		{Who: "coroutines", Wait: "time.Sleep"},
		{Who: "goroutines", Wait: "time.Sleep"},
	}
	for i := range rows[:2] {
		var ticks []time.Time
		err := coro.New(coro.Options{}).Run(func(c *coro.Co) {
			c.Go(func(c *coro.Co) { ticks = tickFor(cfg, func() { c.Sleep(cfg.tick) }) })
			c.Sleep(2 * cfg.tick)
			if i == 0 {
				c.Sleep(cfg.block)
			} else {
				time.Sleep(cfg.block) // blocks the thread, so the scheduler
			}
		})
		if err != nil {
			return nil, err
		}
		rows[i].MaxGap = maxGap(ticks)
	}
	var wg sync.WaitGroup
	var ticks []time.Time
	wg.Go(func() { ticks = tickFor(cfg, func() { time.Sleep(cfg.tick) }) })
	wg.Go(func() { time.Sleep(2 * cfg.tick); time.Sleep(cfg.block) })
	wg.Wait()
	rows[2].MaxGap = maxGap(ticks)

	t := n.Table("ticker and blocker are", "the blocker waits with", "ticker's longest gap")
	for _, r := range rows {
		t.Row(r.Who, r.Wait+"("+cfg.block.String()+")", r.MaxGap.Round(time.Millisecond))
	}
	t.Print()
	n.Say("the ticker wants to run every %s; Go's runtime parks a goroutine in a blocking call and runs the others, a coroutine scheduler cannot", cfg.tick)
	return rows, nil
}

// ANCHOR_END: stall

// tickFor ticks with sleep until the blocker has surely finished, and
// returns when each tick happened.
func tickFor(cfg settings, sleep func()) []time.Time {
	var ticks []time.Time
	end := time.Now().Add(cfg.block + 5*cfg.tick)
	for time.Now().Before(end) {
		ticks = append(ticks, time.Now())
		sleep()
	}
	return ticks
}

func maxGap(ticks []time.Time) time.Duration {
	var gap time.Duration
	for i := 1; i < len(ticks); i++ {
		gap = max(gap, ticks[i].Sub(ticks[i-1]))
	}
	return gap
}
