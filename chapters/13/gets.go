package main

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/corofpm/corofpm/coro"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"golang.org/x/sys/unix"
)

// getsResult is step 1's measurements.
type getsResult struct {
	Elapsed  time.Duration
	OK       int // answered, each with its own reply
	P50, Max time.Duration
	// Dials is the connections opened, Turns the epoll_waits the run loop
	// made, and Threads the OS threads the coroutines ran on.
	Dials, Turns int64
	Threads      int
}

// ANCHOR: gets
// gets runs cfg.gets coroutines on one scheduler, each making one GET
// with the hooked HTTP client. A GET parks its coroutine on connect, on
// write and on read; while they all wait, the run loop sits in one
// epoll_wait on every socket at once.
func gets(n *narrator.Narrator, cfg settings, up *upstream) (getsResult, error) {
	var r getsResult
	s, p, err := newScheduler(cfg.gets + 1)
	if err != nil {
		return r, err
	}
	defer p.Close()
	h := &coro.HTTPClient{Poller: p, Timeout: 10 * cfg.delay}
	lat := make([]time.Duration, cfg.gets)
	threads := map[int]bool{}
	err = s.Run(func(c *coro.Co) {
		defer h.CloseIdle()
		start := time.Now()
		wg := &coro.WaitGroup{}
		for i := range cfg.gets {
			wg.Add(1)
			c.Go(func(c *coro.Co) {
				defer wg.Done()
				body, err := h.Get(c, up.url(cfg.delay, i))
				lat[i] = time.Since(start)
				threads[unix.Gettid()] = true
				if err == nil && string(body) == fmt.Sprintf("reply %d", i) {
					r.OK++
				}
			})
		}
		wg.Wait(c, coro.Forever)
		r.Elapsed = time.Since(start)
	})
	// ANCHOR_END: gets
	if err != nil {
		return r, err
	}
	r.P50, r.Max = median(lat), slices.Max(lat)
	r.Dials, r.Turns, r.Threads = h.Dials, p.Turns, len(threads)
	t := n.Table("GETs", "answered", "all done in", "median", "slowest", "connections", "epoll_waits", "threads")
	t.Row(cfg.gets, r.OK, r.Elapsed, r.P50, r.Max, r.Dials, r.Turns, r.Threads)
	t.Print()
	n.Say("one after another, they would take %d × %s; here they overlapped, %.2f× the upstream's delay in all",
		cfg.gets, cfg.delay, r.Elapsed.Seconds()/cfg.delay.Seconds())
	return r, nil
}

// stallRow is one run of step 2: what the odd coroutine called, and what
// the others suffered.
type stallRow struct {
	Call string
	// P50 and Min are the other coroutines' latencies, from the start of
	// the batch to their answer.
	P50, Min time.Duration
	// MaxGap is the ticker coroutine's longest time between two ticks.
	MaxGap time.Duration
}

// stallResult is step 2's two runs.
type stallResult struct {
	Hooked, Plain stallRow
	// MaxGap is Plain's, for the lesson.
	MaxGap time.Duration
}

// stall repeats step 1 with an odd coroutine created first, which waits
// cfg.block for the upstream too: through the hooked client, then
// through net/http's, a plain call that knows nothing of the scheduler.
func stall(n *narrator.Narrator, cfg settings, up *upstream) (stallResult, error) {
	var res stallResult
	var err error
	if res.Hooked, err = stallRun(cfg, up, false); err != nil {
		return res, err
	}
	if res.Plain, err = stallRun(cfg, up, true); err != nil {
		return res, err
	}
	res.MaxGap = res.Plain.MaxGap
	t := n.Table("the odd coroutine calls", "others' median", "others' fastest", "ticker's longest gap")
	for _, r := range []stallRow{res.Hooked, res.Plain} {
		t.Row(r.Call, r.P50, r.Min, r.MaxGap)
	}
	t.Print()
	n.Say("http.Get waits in Go's netpoller on the coroutine's goroutine: the scheduler's thread is handed to that coroutine and nobody resumes the others until it returns, %s later", cfg.block)
	return res, nil
}

// ANCHOR: stall
// stallRun is one run: a ticker, the odd coroutine, then cfg.gets GETs.
// Go runs each new coroutine at once, until it waits: a hooked call
// parks and lets the loop go on creating the others; a plain call holds
// the thread for its whole length first.
func stallRun(cfg settings, up *upstream, plain bool) (stallRow, error) {
	row := stallRow{Call: "h.Get (hooked)"}
	if plain {
		row.Call = "http.Get (plain)"
	}
	s, p, err := newScheduler(cfg.gets + 3)
	if err != nil {
		return row, err
	}
	defer p.Close()
	h := &coro.HTTPClient{Poller: p, Timeout: 10 * cfg.delay}
	plainClient := &http.Client{}
	defer plainClient.CloseIdleConnections()
	lat := make([]time.Duration, cfg.gets)
	err = s.Run(func(c *coro.Co) {
		defer h.CloseIdle()
		start := time.Now()
		wg := &coro.WaitGroup{}
		wg.Add(cfg.gets + 1)
		c.Go(func(c *coro.Co) { row.MaxGap = ticker(c, wg) })
		c.Go(func(c *coro.Co) {
			defer wg.Done()
			if plain {
				if resp, err := plainClient.Get(up.url(cfg.block, -1)); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				return
			}
			h.Get(c, up.url(cfg.block, -1))
		})
		for i := range cfg.gets {
			c.Go(func(c *coro.Co) {
				defer wg.Done()
				h.Get(c, up.url(cfg.delay, i))
				lat[i] = time.Since(start)
			})
		}
		wg.Wait(c, coro.Forever)
	})
	row.P50, row.Min = median(lat), slices.Min(lat)
	return row, err
}

// ANCHOR_END: stall

// ticker ticks every 10 ms until wg is done and returns its longest gap.
func ticker(c *coro.Co, wg *coro.WaitGroup) time.Duration {
	var gap time.Duration
	last := time.Now()
	for wg.Count() > 0 {
		c.Sleep(10 * time.Millisecond)
		gap = max(gap, time.Since(last))
		last = time.Now()
	}
	return gap
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
