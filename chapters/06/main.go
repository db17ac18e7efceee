// Chapter 06: shared memory. A memfd mapped by two processes is one set of
// physical pages; on it, a plain increment loses counts between processes
// and an atomic add or a spinlock does not. php-fpm's scoreboard lives in
// such memory: the chapter watches the workers of a real FPM change stage
// under load, reads the status page through nginx, and shares an
// APCu-like cache between worker processes.
package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"time"

	"github.com/corofpm/corofpm/fpm"
	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/fpm/script"
	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/mattn/go-isatty"
)

var info = chapter.Info{
	Number: "06",
	Title:  "Shared memory: atomics, the scoreboard, a shared cache",
	About: `A memfd mapped by two processes: the same physical page at two addresses.
N processes increment one counter in it with a plain load and store, an atomic
add and a spinlock, and the chapter counts what each lost. Then a real FPM
(pm = static, 4 workers) behind nginx, under a load of /sleep.php: a live table
of its scoreboard, read straight from the master's memfd, the status page
(text, ?json, ?full) checked against the load sent, and an APCu-like cache
shared by worker processes, with exact counts.`,
	DefaultListen: "127.0.0.1:9006",
}

// roles are the child roles: the FPM's master and workers (serving the
// default scripts), and the chapter's own processes.
func roles() map[string]func(*proc.Child) error {
	r := fpm.Roles(script.Default(script.Blocking{}, ""))
	maps.Copy(r, map[string]func(*proc.Child) error{
		"share":        shareMain,
		"count":        countMain,
		"cache-worker": cacheWorkerMain,
	})
	return r
}

func main() {
	proc.Main(roles())
	opts := chapter.Parse(info)
	n := narrator.New(os.Stdout)
	n.SetVerbose(opts.Verbose)
	var err error
	if opts.Serve {
		err = serve(n, opts)
	} else {
		var term io.Writer // a terminal to redraw the live table in
		if isatty.IsTerminal(os.Stdout.Fd()) {
			term = os.Stdout
		}
		_, err = run(n, opts, term)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "chapter 06: %v\n", err)
		os.Exit(1)
	}
}

// settings are the figures of one run; -quick shrinks them.
type settings struct {
	procs      int   // processes incrementing the counter (step 2)
	increments int   // increments by each of them
	sleeps     []int // ms: each load client's /sleep.php requests, in turn
	clients    int   // load clients through nginx
	dawdlers   int   // direct FastCGI clients that send their request slowly
	dawdle     time.Duration
	slowlog    time.Duration // request_slowlog_timeout
	workers    int           // cache workers (step 5)
	cacheIncs  int           // increments by each cache worker
}

func settingsFor(quick bool) settings {
	s := settings{
		procs: 4, increments: 1000000,
		sleeps: []int{100, 300, 50, 1500, 200, 100}, clients: 3, dawdlers: 2, dawdle: 500 * time.Millisecond,
		slowlog: time.Second, workers: 4, cacheIncs: 20000,
	}
	if !quick {
		s.increments = 4000000
		s.sleeps = append(s.sleeps, 150, 50, 250, 1500, 100, 400)
		s.dawdlers = 4
		s.cacheIncs = 100000
	}
	return s
}

// result is what one run measured, for the chapter's test.
type result struct {
	Settings settings
	Share    shareResult
	Counters []counterRound
	Live     liveResult
	Status   statusResult
	Cache    cacheResult
}

func run(n *narrator.Narrator, opts *chapter.Options, term io.Writer) (res result, err error) {
	cfg := settingsFor(opts.Quick)
	res.Settings = cfg
	n.Title(info.Number, info.Title)

	n.Step("One memfd, mapped by two processes")
	if res.Share, err = share(n); err != nil {
		return res, err
	}

	n.Step("%d processes increment one counter %d times each", cfg.procs, cfg.increments)
	if res.Counters, err = counters(n, cfg); err != nil {
		return res, err
	}

	n.Step("The scoreboard, live: 4 workers under load")
	lab, err := startLab(n, cfg)
	if err != nil {
		return res, err
	}
	defer lab.stop()
	if res.Live, err = live(n, lab, cfg, term); err != nil {
		return res, err
	}

	n.Step("The status page through nginx")
	if res.Status, err = status(n, lab, cfg, res.Live); err != nil {
		return res, err
	}
	lab.stop()

	n.Step("A shared cache (APCu-like) between %d worker processes", cfg.workers)
	if res.Cache, err = sharedCache(n, cfg); err != nil {
		return res, err
	}
	n.Lesson("processes that map one memfd share memory as threads do: a plain load and store loses updates, an atomic instruction or a lock does not; php-fpm's scoreboard, its status page and APCu are all that memory, read and written by every worker.")
	return res, nil
}
