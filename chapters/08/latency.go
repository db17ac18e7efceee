package main

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/corofpm/corofpm/net/sock"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

// latency is one transport's round trips, measured from the client.
type latency struct {
	Transport string
	Echoes    int
	Median    time.Duration
	P99       time.Duration
}

// measureLatency times echoes of 64 bytes, one at a time, on each
// transport against the servers already running. Each transport gets at
// most count echoes and at most a few seconds, whichever ends first.
func measureLatency(n *narrator.Narrator, s *servers, count int) ([]latency, error) {
	limit := time.Duration(count) * 500 * time.Microsecond // 2000 → 1 s, 20000 → 10 s
	var out []latency
	for _, t := range []struct{ transport, addr string }{
		{"TCP", s.tcp.ln.Addr},
		{"unix socket", s.unix.ln.Addr},
		{"UDP", s.udp.p.Addr},
	} {
		c, err := dial(t.transport, t.addr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.transport, err)
		}
		rtts, err := timeEchoes(c, count, limit)
		c.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.transport, err)
		}
		slices.Sort(rtts)
		out = append(out, latency{t.transport, len(rtts), rtts[len(rtts)/2], rtts[len(rtts)*99/100]})
	}
	n.Say("one client per transport sends 64 bytes and waits for them, again and again:")
	tab := n.Table("transport", "echoes", "median", "p99", "median / TCP's")
	for _, l := range out {
		tab.Row(l.Transport, l.Echoes, l.Median, l.P99, float64(l.Median)/float64(out[0].Median))
	}
	tab.Print()
	n.Say("every echo is two system calls on each side and two wake-ups of a sleeping thread;")
	n.Say("TCP adds its protocol work (sequence numbers, acks) even over loopback")
	return out, nil
}

// timeEchoes has c echo a new 64-byte message each time, counted in
// its first bytes so that an echo of a stale message would fail, until
// count echoes or limit has passed.
func timeEchoes(c client, count int, limit time.Duration) ([]time.Duration, error) {
	const warmup = 50 // first round trips fault in pages and wake caches
	msg := make([]byte, 64)
	rtts := make([]time.Duration, 0, count)
	deadline := time.Now().Add(limit)
	for i := 0; i < warmup+count && time.Now().Before(deadline); i++ {
		copy(msg, fmt.Sprintf("echo %08d", i))
		rtt, err := c.echo(msg)
		if err != nil {
			return nil, err
		}
		if i >= warmup {
			rtts = append(rtts, rtt)
		}
	}
	if len(rtts) == 0 {
		return nil, fmt.Errorf("no echo within %s", limit)
	}
	return rtts, nil
}

// client is one echo client, on any transport.
type client interface {
	echo(msg []byte) (time.Duration, error)
	Close() error
}

// streamClient is a connection to the TCP or the unix socket server.
type streamClient struct{ *sock.Conn }

func (c streamClient) echo(msg []byte) (time.Duration, error) { return echo(c.Conn, msg) }

// datagramClient is a UDP socket of its own, bound for the replies.
type datagramClient struct {
	*sock.PacketConn
	server netip.AddrPort
}

func (c datagramClient) echo(msg []byte) (time.Duration, error) {
	return echoDatagram(c.PacketConn, c.server, msg)
}

// dial opens a client to the server at addr on the given transport, with
// a read timeout so that a lost reply fails the run instead of hanging it.
func dial(transport, addr string) (client, error) {
	if transport == "UDP" {
		server, err := netip.ParseAddrPort(addr)
		if err != nil {
			return nil, err
		}
		p, err := sock.ListenUDP("127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		if err := p.SetReadTimeout(5 * time.Second); err != nil {
			p.Close()
			return nil, err
		}
		return datagramClient{p, server}, nil
	}
	c, err := sock.Dial(addr)
	if err != nil {
		return nil, err
	}
	if err := c.SetReadTimeout(5 * time.Second); err != nil {
		c.Close()
		return nil, err
	}
	return streamClient{c}, nil
}
