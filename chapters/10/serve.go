package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"syscall"

	"github.com/corofpm/corofpm/net/reactor"
	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

// maxLine is the longest line a chat member may send; a longer one is
// cut, so that a client that never sends a newline cannot grow its
// buffer without end.
const maxLine = 4096

// member is one chat connection: its unfinished line.
type member struct {
	name    string
	pending []byte
}

// ANCHOR: chat
// serve runs a chat server on one loop until SIGINT or SIGTERM, which
// reach the loop as callbacks: every line a member sends goes to all the
// others. A member that does not read is paused by backpressure, and
// what it is sent piles up in its write buffer only up to the limit.
func serve(n *narrator.Narrator, opts *chapter.Options) error {
	l, err := reactor.New()
	if err != nil {
		return err
	}
	pid := os.Getpid()
	members := map[*reactor.Conn]*member{}
	// A member whose write buffer is full is not reading: it misses lines
	// rather than make the server hold them for it.
	broadcast := func(from *reactor.Conn, line []byte) {
		for c := range members {
			if c != from && c.Buffered() < reactor.DefaultWriteLimit {
				c.Write(line)
			}
		}
	}
	ln, err := l.Listen(opts.Listen, func(c *reactor.Conn) {
		m := &member{name: c.Peer()}
		members[c] = m
		n.From("chat", pid, "%s joined, %d here", m.name, len(members))
		broadcast(c, fmt.Appendf(nil, "* %s joined\n", m.name))
		c.OnData(func(c *reactor.Conn, p []byte) {
			m.pending = append(m.pending, p...)
			for {
				i := bytes.IndexByte(m.pending, '\n')
				if i < 0 && len(m.pending) < maxLine {
					return
				}
				if i < 0 {
					i = len(m.pending) - 1
				}
				broadcast(c, fmt.Appendf(nil, "[%s] %s\n", m.name, bytes.TrimRight(m.pending[:i+1], "\r\n")))
				m.pending = m.pending[:copy(m.pending, m.pending[i+1:])]
			}
		})
		c.OnClose(func(c *reactor.Conn, err error) {
			delete(members, c)
			if err != reactor.ErrStopped {
				n.From("chat", pid, "%s left, %d here", m.name, len(members))
				broadcast(c, fmt.Appendf(nil, "* %s left\n", m.name))
			}
		})
	})
	if err != nil {
		return err
	}
	l.OnSignal(func(sig os.Signal) {
		n.Say("%v: closing %d connections", sig, len(members))
		l.Stop()
	}, syscall.SIGINT, syscall.SIGTERM)
	// ANCHOR_END: chat

	n.Title(info.Number, info.Title+" (serving)")
	n.Say("chat server pid %d on %s: one loop, one thread", pid, ln.Addr())
	n.Say("join from several terminals; every line you type goes to the others:")
	if host, port, err := net.SplitHostPort(ln.Addr()); err == nil {
		n.Say("  nc %s %s", host, port)
		n.Say("no nc? bash can do it: exec 3<>/dev/tcp/%s/%s; cat <&3 & cat >&3", host, port)
	} else {
		n.Say("  nc -U %s", ln.Addr())
	}
	n.Say("stop with ^C")
	return l.Run()
}
