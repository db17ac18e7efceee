// Chapter 02: processes in Go. Why a Go program cannot fork, and what it
// does instead (re-execute itself with a role and inherited fds); how a
// parent learns how a child ended, reaps children on SIGCHLD, turns one
// into a daemon and stops it, runs an external command; and what starting
// a child by re-exec costs.
package main

import (
	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

var info = chapter.Info{
	Number: "02",
	Title:  "Processes in Go: re-exec, fds, wait, daemons, exec",
	About: `A Go program cannot fork(2): the chapter shows the threads its runtime runs,
then starts children the Go way, by re-executing this binary with a role in
COROFPM_ROLE and a pipe and a listening socket as inherited fds, and shows
their fd table from /proc. It tells exit codes from signals in wait4's
status, reaps a crowd of children on SIGCHLD (counting the signals), makes a
daemon with a double re-exec and stops it by its pid file, captures an
external command's output, and measures a re-exec against exec of true(1).
-serve keeps one re-executed FastCGI worker behind nginx and starts another
whenever you kill it.`,
	DefaultListen: "127.0.0.1:9002",
}

func main() {
	proc.Main(roles)
	chapter.Main(info, func(n *narrator.Narrator, opts *chapter.Options) error {
		_, err := run(n, opts)
		return err
	}, serve)
}

// settings are the figures of one run; -quick shrinks them.
type settings struct {
	crowd  int // children released at once in the reaping step
	starts int // starts of each kind in the cost measurement
}

func settingsFor(quick bool) settings {
	if quick {
		return settings{crowd: 16, starts: 50}
	}
	return settings{crowd: 32, starts: 200}
}

// result is what one run measured, for the chapter's test.
type result struct {
	Threads  threadsSeen
	Greeting greeting
	Endings  []ending
	Reaping  reaping
	Daemon   daemonSeen
	Command  command
	Cost     spawnCost
}

func run(n *narrator.Narrator, opts *chapter.Options) (res result, err error) {
	cfg := settingsFor(opts.Quick)
	n.Title(info.Number, info.Title)

	n.Step("Why Go cannot fork: the runtime's threads")
	if res.Threads, err = showThreads(n); err != nil {
		return res, err
	}

	n.Step("Re-exec with a role, and pass a pipe and a socket as fds")
	if res.Greeting, err = showReexec(n); err != nil {
		return res, err
	}

	n.Step("How a child ended: exit code or signal, from wait4(2)")
	if res.Endings, err = showEndings(n); err != nil {
		return res, err
	}

	n.Step("Reaping on SIGCHLD: %d children exit at once", cfg.crowd)
	if res.Reaping, err = showReaping(n, cfg.crowd); err != nil {
		return res, err
	}

	n.Step("A daemon: setsid, a second re-exec, a pid file; then SIGTERM")
	if res.Daemon, err = showDaemon(n); err != nil {
		return res, err
	}

	n.Step("Running another program and capturing its output (os/exec)")
	if res.Command, err = showCommand(n); err != nil {
		return res, err
	}

	n.Step("What a start costs: re-exec of this binary against exec of true(1)")
	if res.Cost, err = measureSpawn(n, cfg.starts); err != nil {
		return res, err
	}
	n.Lesson(`a Go process cannot fork a copy of itself, so it starts its children by
re-executing its own binary with a role and the fds they need (%.1fx the cost
of starting true(1), since each child boots a Go runtime), and a parent must
still do what every Unix parent does: read the status, reap on SIGCHLD until
wait4 finds nothing, and stop its daemons.`, res.Cost.Ratio)
	return res, nil
}
