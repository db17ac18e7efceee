package coro

import (
	"flag"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/corofpm/corofpm/net/sock"
)

// BenchmarkEcho is net/reactor's BenchmarkEcho with coroutines instead of
// callbacks: one round trip of 64 bytes over a socketpair with both ends
// on one scheduler thread. The server coroutine loops Read/Write, the
// client coroutine Write/Read; each parks on EAGAIN and is resumed
// from epoll_wait. Compare the two packages' figures:
//
//	go test -run - -bench 'Echo|Throughput' -benchmem ./coro ./net/reactor
func BenchmarkEcho(b *testing.B) {
	benchConns(b, 1)
}

// BenchmarkThroughput is the same with N connections talking at once,
// each with one message in flight: an op is one round trip, whichever
// connection makes it.
func BenchmarkThroughput(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) { benchConns(b, n) })
	}
}

func benchConns(b *testing.B, conns int) {
	p, err := NewPoller()
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	s := New(Options{Idler: p})
	err = s.Run(func(c *Co) {
		clients := make([]*Conn, conns)
		for i := range clients {
			a, z, err := sock.Pair()
			if err != nil {
				b.Fatal(err)
			}
			srv, err := NewConn(s, p, a.FD, "server")
			if err != nil {
				b.Fatal(err)
			}
			if clients[i], err = NewConn(s, p, z.FD, "client"); err != nil {
				b.Fatal(err)
			}
			c.Go(func(c *Co) { echo(srv) }) // parks in its first Read
		}
		trips := 0
		wg := &WaitGroup{}
		wg.Add(conns)
		b.ReportAllocs()
		b.ResetTimer()
		for _, cli := range clients {
			c.Go(func(c *Co) {
				defer wg.Done()
				defer cli.Close()
				msg, buf := make([]byte, 64), make([]byte, 4096)
				for trips < b.N {
					if _, err := cli.Write(msg); err != nil {
						b.Error(err)
						return
					}
					// Read as the reactor's client does: into a big
					// buffer, until the whole echo is in.
					for got := 0; got < len(msg); {
						n, err := cli.Read(buf)
						if err != nil {
							b.Error(err)
							return
						}
						got += n
					}
					trips++
				}
			})
		}
		wg.Wait(c, Forever)
		b.StopTimer()
	})
	if err != nil {
		b.Fatal(err)
	}
}

// sleepers is how many coroutines BenchmarkSleepers puts to sleep; a
// million needs about 3.3 GB and 8 s, so it is asked for by hand:
//
//	go test -run - -bench Sleepers -benchtime 1x -sleepers 1000000 ./coro
var sleepers = flag.Int("sleepers", 100000, "coroutines for BenchmarkSleepers")

// BenchmarkSleepers puts -sleepers coroutines to sleep for 1 s each on one
// thread and reports how long they took to all wake (as a multiple of the
// sleep: 1 is perfect) and what each cost in memory at the peak.
func BenchmarkSleepers(b *testing.B) {
	const sleep = time.Second
	n := *sleepers
	for b.Loop() {
		p, err := NewPoller()
		if err != nil {
			b.Fatal(err)
		}
		var before, peak runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		var created, elapsed time.Duration
		err = New(Options{Idler: p, MaxCoroutines: n + 1}).Run(func(c *Co) {
			wg := &WaitGroup{}
			wg.Add(n)
			for range n {
				if _, err := c.Go(func(c *Co) { c.Sleep(sleep); wg.Done() }); err != nil {
					b.Fatal(err)
				}
			}
			created = time.Since(start)
			runtime.ReadMemStats(&peak)
			wg.Wait(c, Forever)
			elapsed = time.Since(start)
		})
		p.Close()
		if err != nil {
			b.Fatal(err)
		}
		used := (peak.HeapInuse + peak.StackInuse) - (before.HeapInuse + before.StackInuse)
		b.ReportMetric(float64(n), "coroutines")
		b.ReportMetric(created.Seconds(), "s-to-create")
		b.ReportMetric(elapsed.Seconds(), "s-all-done")
		b.ReportMetric(float64(used)/float64(n), "bytes/coroutine")
	}
}
