package reactor

import (
	"fmt"
	"testing"

	"github.com/corofpm/corofpm/net/sock"
)

// BenchmarkEcho is one round trip of 64 bytes over a socketpair with both
// ends on one loop: a client Conn writes, the server Conn echoes, the
// client's OnData writes the next message. Each op is two turns of the
// loop: two epoll_waits, two reads, two writes. allocs/op counts the whole
// process, so 0 means the loop allocates nothing per event.
//
//	go test -bench . -benchmem ./net/reactor
func BenchmarkEcho(b *testing.B) {
	benchConns(b, 1)
}

// BenchmarkThroughput is the same with N connections talking at once,
// each with one message in flight: an op is one round trip, whichever
// connection makes it. More connections means more events per
// epoll_wait, so the cost of the system call is shared.
func BenchmarkThroughput(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) { benchConns(b, n) })
	}
}

func benchConns(b *testing.B, conns int) {
	l := start(b)
	msg := make([]byte, 64)
	finished := make(chan struct{})
	trips := 0
	var clients []*Conn
	on(b, l, func() {
		for range conns {
			a, z, err := sock.Pair()
			if err != nil {
				b.Fatal(err)
			}
			srv, err := l.NewConn(a.FD, "server")
			if err != nil {
				b.Fatal(err)
			}
			srv.OnData(func(c *Conn, p []byte) { c.Write(p) })
			cli, err := l.NewConn(z.FD, "client")
			if err != nil {
				b.Fatal(err)
			}
			got := 0
			cli.OnData(func(c *Conn, p []byte) {
				if got += len(p); got < len(msg) {
					return // the rest of the echo is on its way
				}
				got -= len(msg)
				if trips++; trips == b.N {
					close(finished)
				}
				if trips < b.N {
					c.Write(msg)
				}
			})
			clients = append(clients, cli)
		}
	})
	b.ReportAllocs()
	b.ResetTimer()
	on(b, l, func() {
		for _, c := range clients[:min(len(clients), b.N)] {
			c.Write(msg)
		}
	})
	<-finished
	b.StopTimer()
}
