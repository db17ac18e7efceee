// Chapter 10: the reactor. Chapter 09's loop grows into an event loop with
// callbacks (net/reactor): a handler per fd, timers on a heap that sets
// epoll_wait's timeout, an eventfd to wake it from other goroutines, and
// per-connection write buffers with backpressure. The chapter runs an echo
// server on one thread with 10,000 connections that each send a message a
// second, then shows the timers and a slow reader.
package main

import (
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

var info = chapter.Info{
	Number: "10",
	Title:  "The reactor: callbacks, timers, backpressure",
	About: `An event loop on epoll (net/reactor) serves 10,000 connections from one
thread: a child process opens them and sends a timestamped message on each,
every second; the chapter prints the round trip's p50 and p99 as the clients
measured it, and the server's memory per connection. Then the timers (order,
cancellation, repeating without drift), a wake-up from another goroutine and a
signal, and a slow reader: the server stops reading a client that does not
read its echo, and resumes when the echo drains. -serve runs a chat server.`,
	DefaultListen: "127.0.0.1:9010",
}

// roles are what this binary plays when re-executed: the crowd of clients.
var roles = map[string]func(*proc.Child) error{"clients": clientsMain}

func main() {
	proc.Main(roles)
	chapter.Main(info, func(n *narrator.Narrator, opts *chapter.Options) error {
		_, err := run(n, opts)
		return err
	}, serve)
}

// settings are the figures of one run; -quick shrinks them.
type settings struct {
	conns    int           // connections of the crowd, if RLIMIT_NOFILE allows
	interval time.Duration // between two messages of one connection
	load     time.Duration // how long the crowd sends
	period   time.Duration // of the repeating timers in the drift demo
	ticks    int           // of each repeating timer
	work     time.Duration // each tick's busy work
	slow     int           // bytes the slow reader's client sends
}

func settingsFor(quick bool) settings {
	s := settings{conns: 10000, interval: time.Second, load: 10 * time.Second,
		period: 20 * time.Millisecond, ticks: 15, work: 5 * time.Millisecond, slow: 4 << 20}
	if quick {
		s.conns, s.load, s.slow = 2000, 3*time.Second, 2<<20
	}
	return s
}

// result is what one run measured, for the chapter's test.
type result struct {
	Settings settings
	Crowd    crowd
	Timers   timers
	Slow     []slowCase
}

func run(n *narrator.Narrator, opts *chapter.Options) (res result, err error) {
	cfg := settingsFor(opts.Quick)
	res.Settings = cfg
	n.Title(info.Number, info.Title)

	n.Step("%d connections on one thread", cfg.conns)
	if res.Crowd, err = runCrowd(n, cfg); err != nil {
		return res, err
	}

	n.Step("Timers on a heap, a wake-up, a signal")
	if res.Timers, err = runTimers(n, cfg); err != nil {
		return res, err
	}

	n.Step("A slow reader: backpressure")
	if res.Slow, err = runSlow(n, cfg); err != nil {
		return res, err
	}
	n.Lesson("a reactor is one thread that never waits on one thing: it sleeps in epoll_wait until an fd is ready or the nearest timer is due, runs the callbacks, and sleeps again. Nothing may block it, so writes are buffered, and a peer that does not read is not read from.")
	return res, nil
}
