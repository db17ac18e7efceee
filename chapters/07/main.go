// Chapter 07: the process manager. The complete classic FPM (package fpm)
// runs three pools, pm = static, dynamic and ondemand, under the same step
// load (idle, burst, idle) and the chapter counts their workers over time:
// the dynamic pool's spawn rate doubling each second, the max_children
// ceiling, ondemand starting from nothing and going back to it. Then the
// manager's other duties: max_requests recycling, request_terminate_timeout
// and the slowlog, and emergency restart.
package main

import (
	"flag"
	"os"
	"time"

	"github.com/corofpm/corofpm/fpm"
	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/corofpm/corofpm/tutorial/peer"
)

var info = chapter.Info{
	Number: "07",
	Title:  "The process manager: static, dynamic, ondemand",
	About: `The complete classic FPM runs three pools behind nginx, pm = static, dynamic
and ondemand, under the same step load (idle, a burst of clients, idle) and
the chapter charts their number of workers over time: the dynamic pool's
spawn rate doubling each second up to pm.max_children, its slow shrink, the
ondemand pool starting from zero and going back to it. Then max_requests
recycling, request_terminate_timeout with the slowlog, and emergency
restart. It starts with php-fpm -t's verdict on a good and a broken
configuration. -serve keeps a dynamic pool up behind nginx with its status
page.`,
	DefaultListen: "127.0.0.1:9007",
}

var (
	svgPath = flag.String("svg", "", "also draw the workers-over-time chart as an SVG image into `FILE` (the docs' docs/07-pm-workers.svg is made so)")
	csvPath = flag.String("csv", "", "also keep the workers-over-time series as CSV in `FILE` (seconds, phase, one column per pool)")
)

func main() {
	proc.Main(fpm.Roles(scripts()))
	chapter.Main(info, func(n *narrator.Narrator, opts *chapter.Options) error {
		_, err := run(n, opts, output{svg: *svgPath, csv: *csvPath})
		return err
	}, serve)
}

// output is where the run also writes its series, beside its temporary
// directory (which it removes): the -svg and -csv flags.
type output struct{ svg, csv string }

// settings are the figures of one run; -quick shrinks the phases and the
// ondemand pool and its load (it stops one idle worker a second), not the
// dynamic pool, whose doubling needs four seconds to show 1, 2, 4, 8.
type settings struct {
	// before, burst and after are the phases of the step load; after ends
	// early once the pools have shown how they shrink (see measure).
	before, burst, after time.Duration
	// clients is the burst: so many clients in a closed loop on each pool,
	// each request a script that sleeps for sleep. ondemandClients is the
	// ondemand pool's, when it has fewer (-quick).
	clients, ondemandClients int
	sleep                    time.Duration
	// sample is how often the workers are counted.
	sample time.Duration
	// pools are the directives of the three pools.
	static, dynamic, ondemand string
	// maxRequests is step 4's pm.max_requests, and recycled how many
	// requests it sends.
	maxRequests, recycled int
}

func settingsFor(quick bool) settings {
	s := settings{
		before: time.Second, burst: 6 * time.Second, after: 13 * time.Second,
		clients: 40, ondemandClients: 40, sleep: 500 * time.Millisecond, sample: 100 * time.Millisecond,
		static: "pm = static\npm.max_children = 8\n",
		dynamic: "pm = dynamic\npm.max_children = 32\npm.start_servers = 16\n" +
			"pm.min_spare_servers = 16\npm.max_spare_servers = 24\n",
		ondemand:    "pm = ondemand\npm.max_children = 8\npm.process_idle_timeout = 1s\n",
		maxRequests: 5, recycled: 17,
	}
	if quick {
		s.before, s.burst, s.after = 300*time.Millisecond, 4600*time.Millisecond, 5*time.Second
		s.ondemand = "pm = ondemand\npm.max_children = 2\npm.process_idle_timeout = 1s\n"
		s.ondemandClients = 3
		s.recycled = 12
	}
	return s
}

// result is what one run measured, for the chapter's test.
type result struct {
	Settings settings
	Config   configResult
	Step     stepLoad
	Recycle  recycleResult
	Timeout  timeoutResult
	Crash    crashResult
}

func run(n *narrator.Narrator, opts *chapter.Options, out output) (res result, err error) {
	cfg := settingsFor(opts.Quick)
	res.Settings = cfg
	n.Title(info.Number, info.Title)
	if _, err := peer.Look("nginx"); err != nil {
		return res, err // it says how to install nginx
	}
	dir, err := os.MkdirTemp("", "corofpm-07-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)

	n.Step("The configuration file, and php-fpm -t")
	if res.Config, err = testConfigs(n, dir, cfg); err != nil {
		return res, err
	}

	// Steps 4 to 6 run on masters of their own while step 2's load runs:
	// they need seconds of waiting, not the CPU.
	side := startSide(dir, cfg)

	n.Step("Three process managers under the same step load")
	if res.Step, err = runStepLoad(n, dir, cfg); err != nil {
		side.wait()
		return res, err
	}
	if err := res.Step.save(dir, out); err != nil {
		side.wait()
		return res, err
	}

	n.Step("pm = dynamic: the spawn rate doubles each second")
	showDoubling(n, &res.Step)

	if err := side.wait(); err != nil {
		return res, err
	}
	res.Recycle, res.Timeout, res.Crash = side.recycle, side.timeout, side.crash
	n.Step("pm.max_requests = %d: a worker retires after %d requests", cfg.maxRequests, cfg.maxRequests)
	showRecycle(n, res.Recycle)
	n.Step("request_terminate_timeout and the slowlog")
	showTimeout(n, res.Timeout)
	n.Step("Emergency restart: too many workers crashed")
	showCrash(n, res.Crash)

	n.Lesson("the process manager decides once a second from the scoreboard: dynamic grows by a doubling rate up to pm.max_children and shrinks by one idle worker a second, ondemand starts a worker per waiting connection and stops it after process_idle_timeout, and the master replaces workers that retire, hang or crash.")
	return res, nil
}
