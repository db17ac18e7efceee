// Chapter 04: the thundering herd. N worker processes wait for connections
// on one listening socket in five ways, and the chapter counts, for each
// connection, how many of them the kernel woke, how many returned to user
// space, how many of those found nothing to accept, and the CPU time the
// waiting cost: blocking accept(2), epoll without and with EPOLLEXCLUSIVE,
// an accept lock, and SO_REUSEPORT.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

var info = chapter.Info{
	Number: "04",
	Title:  "The thundering herd",
	About: `N worker processes (this binary, re-executed) wait for connections in five
ways: (a) blocking accept(2) on a shared socket, as php-fpm does; (b) epoll,
level-triggered, on a shared non-blocking socket; (c) the same with
EPOLLEXCLUSIVE; (d) an fcntl lock around accept(2), php's FCGI_LOCK; (e)
SO_REUSEPORT, one socket per worker. The master sends connections one at a
time and counts, from /proc and from the workers' own reports, how many
workers each connection woke and how many woke for nothing; then it shows
SO_REUSEPORT's drawback: connections queued behind a busy worker while the
others idle. The chapter measures and exits: it has nothing to -serve.`,
	DefaultListen: "127.0.0.1:9004",
}

// workers is -workers, the number of waiting processes.
var workers = flag.Int("workers", 8, "how many worker processes wait on the socket (2 to 64)")

func main() {
	proc.Main(map[string]func(*proc.Child) error{"waiter": waiterMain})
	opts := chapter.Parse(info)
	if opts.Serve {
		fmt.Fprintln(os.Stderr, "chapter 04 measures and exits: there is no server to keep up (chapter 03 -serve keeps a pool of workers)")
		os.Exit(2)
	}
	if *workers < 2 || *workers > 64 {
		fmt.Fprintf(os.Stderr, "chapter 04: -workers %d: want 2 to 64\n", *workers)
		os.Exit(2)
	}
	n := narrator.New(os.Stdout)
	n.SetVerbose(opts.Verbose)
	if _, err := run(n, settingsFor(opts.Quick, *workers)); err != nil {
		fmt.Fprintf(os.Stderr, "chapter 04: %v\n", err)
		os.Exit(1)
	}
}

// strategy is one way for the workers to wait.
type strategy struct {
	// Name is the strategy in the workers' arguments and in errors.
	Name string
	// Label is the strategy in tables, with its letter.
	Label string
	// Nonblock: the shared socket is non-blocking, for the epoll loops.
	Nonblock bool
	// ReusePort: one socket per worker instead of one shared.
	ReusePort bool
}

var (
	stratAccept    = strategy{Name: "accept", Label: "a  blocking accept"}
	stratEpoll     = strategy{Name: "epoll", Label: "b  epoll", Nonblock: true}
	stratExclusive = strategy{Name: "epoll-exclusive", Label: "c  epoll EPOLLEXCLUSIVE", Nonblock: true}
	stratLock      = strategy{Name: "accept-lock", Label: "d  accept lock (fcntl)"}
	stratReusePort = strategy{Name: "reuseport", Label: "e  SO_REUSEPORT", ReusePort: true}

	strategies = []strategy{stratAccept, stratEpoll, stratExclusive, stratLock, stratReusePort}
)

// settings are the figures of one run; -quick shrinks them.
type settings struct {
	workers int           // waiting processes
	conns   int           // connections per strategy, sent one at a time
	pause   time.Duration // between two connections, once every waiter sleeps
	crowd   int           // connections sent while worker 0 is busy
	gap     time.Duration // between two of them
	quiet   time.Duration // no answer for this long: the free workers are idle
}

func settingsFor(quick bool, workers int) settings {
	if quick {
		return settings{workers: workers, conns: 60, pause: time.Millisecond,
			crowd: 64, gap: 4 * time.Millisecond, quiet: 300 * time.Millisecond}
	}
	return settings{workers: workers, conns: 200, pause: 2 * time.Millisecond,
		crowd: 128, gap: 4 * time.Millisecond, quiet: 500 * time.Millisecond}
}

// result is what one run measured, for the chapter's test.
type result struct {
	Settings settings
	Rounds   []round
	Busy     []busyRound
}

// tagger shows what a worker prints, tagged with its pid. Workers print
// nothing unless something goes wrong.
func tagger(n *narrator.Narrator) func(pid int) io.Writer {
	return func(pid int) io.Writer { return n.Tagged("worker", pid) }
}

// run is the walkthrough: the five rounds, then the busy worker; it
// returns what it measured, for the test.
func run(n *narrator.Narrator, cfg settings) (res result, err error) {
	res.Settings = cfg
	n.Title(info.Number, info.Title)

	n.Step("%d workers, 5 ways to wait, %d connections one at a time", cfg.workers, cfg.conns)
	n.Say("each worker locks its waiting goroutine to one thread (gettid) and does nothing else;")
	n.Say("the master reads that thread's voluntary_ctxt_switches in /proc/PID/task/TID/status")
	n.Say("before and after: each rise is one time the kernel woke it. The workers count their")
	n.Say("own returns to user space and the accepts that found nothing (EAGAIN), and report.")
	for _, s := range strategies {
		r, err := measure(n, s, cfg)
		if err != nil {
			return res, err
		}
		res.Rounds = append(res.Rounds, r)
	}
	printRounds(n, res.Rounds)

	n.Step("SO_REUSEPORT's drawback: a connection waits for its busy worker")
	for _, s := range []strategy{stratAccept, stratReusePort} {
		b, err := measureBusy(n, s, cfg)
		if err != nil {
			return res, err
		}
		res.Busy = append(res.Busy, b)
	}
	printBusy(n, res.Busy, cfg)

	n.Lesson("a connection should wake one waiter. Blocking accept and EPOLLEXCLUSIVE get that from the kernel, SO_REUSEPORT by giving each worker its own queue (at the price of connections stuck behind a busy worker), an accept lock by moving the wait onto the lock, whose hand-over wakes more; plain epoll on a shared socket wakes every worker for every connection.")
	return res, nil
}

// perWorker formats counts per worker as "25 24 26 ...".
func perWorker(counts []int) string {
	s := make([]string, len(counts))
	for i, c := range counts {
		s[i] = fmt.Sprint(c)
	}
	return strings.Join(s, " ")
}
