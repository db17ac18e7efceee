// Chapter 05: signals. A master is an event loop whose events are signals:
// how a signal becomes an event (the self-pipe, and what Go's os/signal
// does underneath), how SIGCHLD lets the master reap and respawn a crashed
// worker, and php-fpm's signals measured on the real FPM behind a real
// nginx: SIGQUIT graceful stop against SIGTERM fast stop, SIGUSR1 log
// reopen, and SIGUSR2 reload under load with no failed request.
package main

import (
	"os"
	"time"

	"github.com/corofpm/corofpm/fpm"
	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/fpm/script"
	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/corofpm/corofpm/tutorial/peer"
)

var info = chapter.Info{
	Number: "05",
	Title:  "Signals: reap, respawn, stop, reopen, reload",
	About: `A master process is an event loop whose events are signals. The chapter
builds the self-pipe trick by hand and measures what Go's os/signal does
underneath (latency, coalescing), then runs the FPM behind nginx: kill -9 a
worker and time its replacement, SIGQUIT against SIGTERM with a request in
flight, SIGUSR1 after a log rotation, and SIGUSR2 in the middle of a load,
counting failed requests (0) and the pids before and after.`,
	DefaultListen: "127.0.0.1:9005",
}

// roles are the child processes this program can become: the FPM's master
// and workers, and the counter of step 1.
func roles() map[string]func(*proc.Child) error {
	r := fpm.Roles(script.Default(script.Blocking{}, ""))
	r[counterRole] = counterMain
	return r
}

func main() {
	proc.Main(roles())
	chapter.Main(info, func(n *narrator.Narrator, opts *chapter.Options) error {
		_, err := run(n, opts)
		return err
	}, serve)
}

// settings are the figures of one run; -quick shrinks them.
type settings struct {
	rounds  int           // kill(getpid) round trips timed in step 1
	burst   int           // signals sent at once to show coalescing
	light   time.Duration // step 2: how long the light load runs
	inHand  time.Duration // step 3: how long the in-flight request sleeps
	window  time.Duration // step 5: how long the load runs, the reload in its middle
	clients int           // step 5: concurrent clients
	sleep   time.Duration // step 5: what each request sleeps
}

func settingsFor(quick bool) settings {
	if quick {
		return settings{rounds: 200, burst: 100, light: time.Second, inHand: 800 * time.Millisecond,
			window: 2400 * time.Millisecond, clients: 8, sleep: 10 * time.Millisecond}
	}
	return settings{rounds: 1000, burst: 100, light: 2 * time.Second, inHand: 1500 * time.Millisecond,
		window: 8 * time.Second, clients: 8, sleep: 10 * time.Millisecond}
}

// pool is the pool every FPM of the chapter runs: four blocking workers,
// and the status page, which tells when a new worker waits in accept(2).
const pool = "pm = static\npm.max_children = 4\npm.status_path = /status\n"

// result is what one run measured, for the chapter's test.
type result struct {
	Settings settings
	Pipe     selfPipeResult
	Respawn  respawnResult
	Stops    []stopResult
	Reopen   reopenResult
	Reload   reloadResult
}

func run(n *narrator.Narrator, opts *chapter.Options) (res result, err error) {
	cfg := settingsFor(opts.Quick)
	res.Settings = cfg
	n.Title(info.Number, info.Title)
	if _, err := peer.Look("nginx"); err != nil {
		return res, err // it says how to install nginx
	}
	dir, err := os.MkdirTemp("", "corofpm-05-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)

	n.Step("A signal becomes an event: the self-pipe, and Go's os/signal")
	if res.Pipe, err = selfPipeStep(n, cfg); err != nil {
		return res, err
	}

	n.Step("SIGCHLD: kill -9 a worker, the master reaps it and starts another")
	s, err := startStack(dir, "fpm")
	if err != nil {
		return res, err
	}
	defer s.stop()
	if res.Respawn, err = respawnStep(n, s, cfg); err != nil {
		return res, err
	}

	n.Step("SIGQUIT finishes the request in hand, SIGTERM does not")
	if res.Stops, err = stopStep(n, dir, cfg); err != nil {
		return res, err
	}

	n.Step("SIGUSR1: reopen the log after a rotation")
	if res.Reopen, err = reopenStep(n, s); err != nil {
		return res, err
	}

	n.Step("SIGUSR2: reload under load, the socket stays open")
	if res.Reload, err = reloadStep(n, s, cfg); err != nil {
		return res, err
	}
	if err := s.stop(); err != nil {
		return res, err
	}
	n.Lesson("a master is a loop that waits for signals and child exits: it reaps and replaces a dead worker, stops gracefully or at once, and reloads by exec'ing itself with the listening socket still open, so that the kernel's backlog holds every connection until the new workers take them.")
	return res, nil
}
