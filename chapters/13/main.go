// Chapter 13: coroutine IO. Hooked IO in the coro package: a read that
// would block parks the coroutine and epoll_wait resumes it, so one thread
// keeps a thousand HTTP requests, commands and clients in flight; and one
// plain blocking call, measured, stalls them all.
package main

import (
	"time"

	"github.com/corofpm/corofpm/coro"
	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

var info = chapter.Info{
	Number: "13",
	Title:  "Coroutine IO",
	About: `Hooked IO: a coroutine's read, write, connect or accept that would block
parks the coroutine, and the scheduler's idle wait is epoll_wait, which
resumes it when its fd is ready. A thousand HTTP GETs to an upstream that
answers after a delay, on one thread, in about one delay; the same with one
plain blocking call among them; commands run at once with their output
read through pipes and their exit through a pidfd; timeouts; and an echo
server on one thread with many clients. -serve keeps the echo server up.`,
	DefaultListen: "127.0.0.1:9013",
}

func main() {
	chapter.Main(info, func(n *narrator.Narrator, opts *chapter.Options) error {
		_, err := run(n, opts)
		return err
	}, serve)
}

// settings are the figures of one run; -quick shrinks them.
type settings struct {
	gets    int           // concurrent GETs
	delay   time.Duration // how long the upstream takes to answer
	block   time.Duration // the plain blocking call's length
	execs   int           // commands run at once
	nap     time.Duration // how long each command sleeps
	timeout time.Duration // the timeouts of step 4
	clients int           // echo clients
	trips   int           // round trips per echo client
}

func settingsFor(quick bool) settings {
	if quick {
		return settings{gets: 1000, delay: 500 * time.Millisecond, block: 300 * time.Millisecond,
			execs: 10, nap: 300 * time.Millisecond, timeout: 100 * time.Millisecond, clients: 200, trips: 50}
	}
	return settings{gets: 1000, delay: time.Second, block: time.Second,
		execs: 20, nap: 500 * time.Millisecond, timeout: 200 * time.Millisecond, clients: 1000, trips: 100}
}

// result is what one run measured, for the chapter's test.
type result struct {
	Settings settings
	Gets     getsResult
	Stall    stallResult
	Execs    execResult
	Timeouts []timeoutRow
	Echo     echoResult
}

func run(n *narrator.Narrator, opts *chapter.Options) (res result, err error) {
	cfg := settingsFor(opts.Quick)
	res.Settings = cfg
	n.Title(info.Number, info.Title)
	up, err := startUpstream()
	if err != nil {
		return res, err
	}
	defer up.stop()
	n.Say("upstream: net/http on %s (goroutines, another thread), /slow?ms=N answers after N ms", up.addr)

	n.Step("%d HTTP GETs at once, one thread, an upstream that takes %s", cfg.gets, cfg.delay)
	if res.Gets, err = gets(n, cfg, up); err != nil {
		return res, err
	}
	n.Step("The same with one plain blocking call among them")
	if res.Stall, err = stall(n, cfg, up); err != nil {
		return res, err
	}
	n.Step("%d commands at once: pipes and a pidfd in the same epoll", cfg.execs)
	if res.Execs, err = execs(n, cfg); err != nil {
		return res, err
	}
	n.Step("Timeouts: a parked wait ends on the timer heap")
	if res.Timeouts, err = timeouts(n, cfg, up); err != nil {
		return res, err
	}
	n.Step("An echo server on one thread, %d clients", cfg.clients)
	if res.Echo, err = echoLoad(n, cfg); err != nil {
		return res, err
	}
	n.Lesson("a hooked read parks the coroutine, not the thread: %d GETs of %s took %s on one thread, but one plain blocking call of %s made every other coroutine wait for it (the ticker's longest gap: %s).",
		cfg.gets, cfg.delay, res.Gets.Elapsed.Round(time.Millisecond), cfg.block, res.Stall.MaxGap.Round(time.Millisecond))
	return res, nil
}

// newScheduler is a scheduler whose idle wait is epoll_wait: the setup of
// every step.
func newScheduler(maxCoroutines int) (*coro.Scheduler, *coro.Poller, error) {
	p, err := coro.NewPoller()
	if err != nil {
		return nil, nil, err
	}
	return coro.New(coro.Options{Idler: p, MaxCoroutines: maxCoroutines}), p, nil
}
