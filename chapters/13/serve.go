package main

import (
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/corofpm/corofpm/coro"
	"github.com/corofpm/corofpm/net/sock"
	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

// serve keeps the hooked echo server up on -listen until SIGINT or
// SIGTERM, narrating each connection.
func serve(n *narrator.Narrator, opts *chapter.Options) error {
	n.Title(info.Number, info.Title+" (serving)")
	ln, err := sock.Listen(opts.Listen, 1024)
	if err != nil {
		return err
	}
	s, p, err := newScheduler(0)
	if err != nil {
		ln.Close()
		return err
	}
	defer p.Close()
	l, err := coro.NewListener(s, p, ln)
	if err != nil {
		ln.Close()
		return err
	}
	// conns are the open connections, closed at the stop.
	conns := map[*coro.Conn]bool{}
	// Caught from here on, before the address is printed: whoever reads
	// it may signal at once. After the first, the default comes back, so
	// that a second ^C kills a stop that hangs.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-stop
		signal.Stop(stop)
		s.Post(func() { // on the scheduler's thread
			n.Say("%v: closing the listener and %d connections", sig, len(conns))
			l.Close()
			for conn := range conns {
				conn.Close()
			}
		})
	}()
	n.Say("an echo server on %s: %d acceptor coroutines, a coroutine per connection, one thread", l.Addr(), acceptors)
	n.Say("try:")
	if sock.IsUnix(l.Addr()) {
		n.Say("  nc -U %s", l.Addr())
	} else {
		host, port := splitAddr(l.Addr())
		n.Say("  nc %s %s", host, port)
	}
	n.Say("stop with ^C")
	return s.Run(func(c *coro.Co) {
		echoServer(c, l, func(c *coro.Co, conn *coro.Conn) {
			conns[conn] = true
			n.Say("co %d: connection from %s on fd %d", c.ID(), conn.Peer(), conn.FD())
			c.Defer(func() {
				delete(conns, conn)
				n.Say("co %d: %s gone", c.ID(), conn.Peer())
			})
		})
	})
}

// splitAddr splits host:port for nc's two arguments.
func splitAddr(addr string) (host, port string) {
	host, port, _ = net.SplitHostPort(addr)
	return host, port
}
