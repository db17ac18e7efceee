package main

import (
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

// serve keeps an epoll echo server up on -listen until SIGINT or SIGTERM.
// The loop cannot block in chapter.WaitForStop: it is busy turning. So
// the signals go to a channel, asked for before anything is printed, and
// the loop looks at it between turns (every 100 ms at most). Chapter 10's
// reactor wakes its loop with an eventfd instead.
func serve(n *narrator.Narrator, opts *chapter.Options) error {
	runtime.LockOSThread() // one thread, literally
	defer runtime.UnlockOSThread()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(stop)

	n.Title(info.Number, info.Title+" (serving)")
	srv, err := newServer("epoll", opts.Listen, 4096, true)
	if err != nil {
		return err
	}
	defer srv.stop()
	pid := os.Getpid()
	srv.log = func(format string, args ...any) { n.From("echo", pid, format, args...) }
	n.Say("echo server pid %d on %s: epoll, level-triggered, one thread, non-blocking sockets", pid, srv.ln.Addr)
	n.Say("try, in several terminals at once:")
	if host, port, err := net.SplitHostPort(srv.ln.Addr); err == nil {
		n.Say("  nc %s %s", host, port)
	} else {
		n.Say("  nc -U %s", srv.ln.Addr)
	}
	n.Say("every line you type comes back; each nc is one more fd in the same epoll set")
	n.Say("stop with ^C")
	for {
		select {
		case sig := <-stop:
			n.Say("%v: closing %d connections", sig, len(srv.conns))
			return nil
		default:
		}
		if _, err := srv.turn(100 * time.Millisecond); err != nil {
			n.Warn("%v", err)
		}
	}
}
