// Chapter 14: the coroutine FPM. The same master, the same pool of four
// processes, the same scripts, with worker.model = coroutine: each worker
// serves worker.coroutines requests at once. Against an upstream that
// answers after a delay, a blocking pool completes workers / delay
// requests a second and the rest wait in the backlog; the coroutine pool
// completes clients / delay. The status page shows every request in flight
// with a slot of its own, and a script that keeps its request in a global
// shows what coroutines sharing a process means.
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
	Number: "14",
	Title:  "The coroutine FPM",
	About: `The classic benchmark, shorter: an upstream that answers after a delay
(2 s, 1 s with -quick), many clients in a closed loop through nginx, and two
pools of 4 processes under the same master code: pm = static blocking
workers, then worker.model = coroutine with 128 coroutines each. Both are
printed against their ceilings (workers / delay, clients / delay). Mid-run
the chapter reads the kernel's accept queue and the status page (?json&full):
many requests Running in one worker pid. Then /whoami.php, a script that
keeps its request in a global, shows that coroutines of a process share its
globals while each has its own request. -serve keeps a coroutine pool up
behind nginx with its status page.`,
	DefaultListen: "127.0.0.1:9014",
}

var csvPath = flag.String("csv", "", "also write the upstream calls in flight over time, both pools, as CSV into `FILE` (the docs' docs/14-in-flight.csv is made so, by a full run)")

func main() {
	proc.Main(fpm.Roles(scripts()))
	chapter.Main(info, func(n *narrator.Narrator, opts *chapter.Options) error {
		_, err := run(n, opts, *csvPath)
		return err
	}, serve)
}

// settings are the figures of one run; -quick halves the delay and the
// crowd, not the pools.
type settings struct {
	// delay is how long the upstream takes to answer; window how long
	// each pool is under load: three delays and a half, so that three
	// rounds of answers fall inside it.
	delay, window time.Duration
	// clients is the closed loop's size; workers and coroutines the
	// pools' (coroutines only for the coroutine pool).
	clients, workers, coroutines int
	// sample is how often the upstream's calls in flight are counted.
	sample time.Duration
	// isolation is how many /whoami.php requests go at once, each
	// waiting pause on its IO.
	isolation int
	pause     time.Duration
}

func settingsFor(quick bool) settings {
	s := settings{delay: 2 * time.Second, clients: 200, workers: 4, coroutines: 128,
		sample: 100 * time.Millisecond, isolation: 40, pause: 50 * time.Millisecond}
	if quick {
		s.delay, s.clients = time.Second, 100
	}
	s.window = 7 * s.delay / 2
	return s
}

// result is what one run measured, for the chapter's test.
type result struct {
	Settings  settings
	Blocking  poolResult
	Coroutine poolResult
}

func run(n *narrator.Narrator, opts *chapter.Options, csvFile string) (res result, err error) {
	cfg := settingsFor(opts.Quick)
	res.Settings = cfg
	n.Title(info.Number, info.Title)
	if _, err := peer.Look("nginx"); err != nil {
		return res, err // it says how to install nginx
	}
	dir, err := os.MkdirTemp("", "corofpm-14-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	up, err := startUpstream(cfg.delay)
	if err != nil {
		return res, err
	}
	defer up.stop()

	n.Step("A slow upstream, and %d clients in a closed loop", cfg.clients)
	n.Say("upstream: net/http in this process (pid %d), on %s, answers after %s", os.Getpid(), up.url, cfg.delay)
	n.Say("each pool: one master, %d worker processes on 127.0.0.1, behind its own nginx;", cfg.workers)
	n.Say("%d clients GET /upstream.php?url=<upstream> through nginx for %s, each sending", cfg.clients, cfg.window)
	n.Say("its next request when the last is answered (tutorial/load's closed loop)")

	pools := poolsFor(cfg)
	n.Step("The blocking pool: %s", pools[0].describe())
	if res.Blocking, err = measurePool(n, dir, up, pools[0], cfg); err != nil {
		return res, err
	}
	n.Step("The coroutine pool: %s", pools[1].describe())
	if res.Coroutine, err = measurePool(n, dir, up, pools[1], cfg); err != nil {
		return res, err
	}

	n.Step("Side by side")
	compare(n, cfg, res.Blocking, res.Coroutine)
	if csvFile != "" {
		if err := writeCSV(csvFile, cfg, res.Blocking, res.Coroutine); err != nil {
			return res, err
		}
		n.Say("wrote the upstream calls in flight over time to %s", csvFile)
	}

	n.Step("The status page, mid-run")
	showStatus(n, res.Blocking, res.Coroutine)

	n.Step("One process, many requests: globals are shared, the request is not")
	showIsolation(n, cfg, res.Blocking, res.Coroutine)

	n.Lesson("a blocking worker holds one request while it waits, so %d workers complete %d / %s; a coroutine worker parks the waiting request and takes the next, so the same %d processes completed %.0f req/s, %.0fx as many. Each request has its own coroutine and its own request object, but the process's globals are shared by all of them.",
		cfg.workers, cfg.workers, cfg.delay, cfg.workers, res.Coroutine.Load.Throughput(),
		res.Coroutine.Load.Throughput()/res.Blocking.Load.Throughput())
	return res, nil
}
