package main

import (
	"errors"
	"net"
	"os"

	"github.com/corofpm/corofpm/net/sock"
	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

// serve keeps the blocking echo server up on -listen until SIGINT or
// SIGTERM, with a UDP echo server on the same port number when -listen is
// host:port: TCP and UDP ports are separate, so both can be 9008.
func serve(n *narrator.Narrator, opts *chapter.Options) error {
	n.Title(info.Number, info.Title+" (serving)")
	n.SetVerbose(true) // the server's accept and leave lines are the point here
	ln, err := sock.Listen(opts.Listen, 16)
	if err != nil {
		return err
	}
	role := "tcp server"
	if sock.IsUnix(ln.Addr) {
		role = "unix server"
	}
	srv := startStream(ln, serverLog(n, role))
	n.Say("echo server pid %d, thread %d, blocked in accept(2) on %s (fd %d)", os.Getpid(), srv.tid, ln.Addr, ln.FD)
	var udp *datagramServer
	if !sock.IsUnix(ln.Addr) {
		p, err := sock.ListenUDP(ln.Addr)
		if err != nil {
			srv.stop()
			return err
		}
		udp = startDatagram(p, serverLog(n, "udp server"))
		n.Say("and a UDP echo server on udp %s (fd %d)", p.Addr, p.FD)
	}
	n.Say("try:")
	if sock.IsUnix(ln.Addr) {
		n.Say("  nc -U %s", ln.Addr)
		n.Say("  nc -U %s      # in a second terminal while the first stays: it waits", ln.Addr)
	} else {
		host, port, _ := net.SplitHostPort(ln.Addr) // the kernel's form: 127.0.0.1:9008, [::1]:9008
		n.Say("  nc %s %s", host, port)
		n.Say("  nc %s %s      # in a second terminal while the first stays: it waits", host, port)
		n.Say("  nc -u %s %s   # UDP: any number at once", host, port)
	}
	n.Say("stop with ^C")
	sig := chapter.WaitForStop()
	n.Say("%v: stopping the server", sig)
	err = srv.stop()
	if udp != nil {
		err = errors.Join(err, udp.stop())
	}
	return err
}
