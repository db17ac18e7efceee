package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/corofpm/corofpm/coro"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

// execResult is step 3's measurements.
type execResult struct {
	Elapsed time.Duration
	// Right counts commands whose stdout, stderr and exit code were the
	// ones asked for.
	Right int
	// MaxGap is the ticker's longest gap while they ran.
	MaxGap time.Duration
}

// ANCHOR: execs
// execs runs cfg.execs shell commands at once, each sleeping cfg.nap, then
// printing its number on stdout and on stderr and exiting with it.
func execs(n *narrator.Narrator, cfg settings) (execResult, error) {
	var r execResult
	s, p, err := newScheduler(2*cfg.execs + 2)
	if err != nil {
		return r, err
	}
	defer p.Close()
	err = s.Run(func(c *coro.Co) {
		start := time.Now()
		wg := &coro.WaitGroup{}
		wg.Add(cfg.execs)
		c.Go(func(c *coro.Co) { r.MaxGap = ticker(c, wg) })
		for i := range cfg.execs {
			c.Go(func(c *coro.Co) {
				defer wg.Done()
				script := fmt.Sprintf("sleep %g; echo out %d; echo err %d >&2; exit %d", cfg.nap.Seconds(), i, i, i)
				stdout, stderr, code, err := coro.Exec(c, p, "sh", "-c", script)
				if err == nil && code == i &&
					string(stdout) == fmt.Sprintf("out %d\n", i) && string(stderr) == fmt.Sprintf("err %d\n", i) {
					r.Right++
				}
			})
		}
		wg.Wait(c, coro.Forever)
		r.Elapsed = time.Since(start)
	})
	// ANCHOR_END: execs
	if err != nil {
		return r, err
	}
	t := n.Table("commands", "each sleeps", "output and exit code right", "all done in", "ticker's longest gap")
	t.Row(cfg.execs, cfg.nap, r.Right, r.Elapsed, r.MaxGap)
	t.Print()
	n.Say("each command's stdout and stderr are pipes read as hooked fds, and its exit a pidfd that turns readable: no thread waits in wait(2)")
	return r, nil
}

// timeoutRow is one timeout of step 4.
type timeoutRow struct {
	What    string
	Timeout time.Duration
	// After is how long the wait lasted; Err what it failed with.
	After time.Duration
	Err   error
}

// Fired reports whether the wait ended by its timeout, near its time
// rather than at the slow side's pace.
func (r timeoutRow) Fired() bool {
	return (errors.Is(r.Err, coro.ErrTimeout) || errors.Is(r.Err, coro.ErrCanceled)) && r.After >= r.Timeout
}

// ANCHOR: timeouts
// timeouts makes three waits that would last long end by a timeout: an
// HTTP GET through the client's Timeout, a Read through its deadline,
// and a command through a timer that cancels its coroutine, which kills
// the command.
func timeouts(n *narrator.Narrator, cfg settings, up *upstream) ([]timeoutRow, error) {
	s, p, err := newScheduler(10)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	slow := 20 * cfg.timeout
	rows := []timeoutRow{
		{What: fmt.Sprintf("GET from an upstream taking %s", slow)},
		{What: "Read on a socket nobody writes to"},
		{What: fmt.Sprintf("Exec of sleep %g", slow.Seconds())},
	}
	for i := range rows {
		rows[i].Timeout = cfg.timeout
	}
	err = s.Run(func(c *coro.Co) {
		start := time.Now()
		h := &coro.HTTPClient{Poller: p, Timeout: cfg.timeout}
		_, rows[0].Err = h.Get(c, up.url(slow, 0))
		rows[0].After = time.Since(start)

		start = time.Now()
		rows[1].Err = silentRead(c, p, cfg.timeout)
		rows[1].After = time.Since(start)

		start = time.Now()
		worker, _ := c.Go(func(c *coro.Co) {
			_, _, _, rows[2].Err = coro.Exec(c, p, "sleep", fmt.Sprint(slow.Seconds()))
		})
		stop := s.After(cfg.timeout, func() { worker.Cancel(coro.ErrTimeout) })
		defer stop()
		c.Join(worker, coro.Forever)
		rows[2].After = time.Since(start)
	})
	// ANCHOR_END: timeouts
	if err != nil {
		return nil, err
	}
	t := n.Table("wait", "timeout", "ended after", "with")
	for _, r := range rows {
		t.Row(r.What, r.Timeout, r.After, shortErr(r.Err))
	}
	t.Print()
	n.Say("a parked wait with a timeout has a timer on the scheduler's heap; epoll_wait sleeps at most until the first one is due")
	return rows, nil
}

// silentRead reads, with a deadline, from a connection to a listener that
// never answers: a hooked Dial to a hooked listening socket, accepted by
// nobody (the kernel completes the handshake on its own).
func silentRead(c *coro.Co, p *coro.Poller, timeout time.Duration) error {
	ln, err := listen(c, p)
	if err != nil {
		return err
	}
	defer ln.Close()
	conn, err := coro.Dial(c, p, ln.Addr(), time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(timeout))
	_, err = conn.Read(make([]byte, 1))
	return err
}

// shortErr is an error's last part, what the table has room for.
func shortErr(err error) string {
	if err == nil {
		return "no error"
	}
	s := err.Error()
	return s[strings.LastIndex(s, ": ")+2:]
}
