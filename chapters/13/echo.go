package main

import (
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corofpm/corofpm/coro"
	"github.com/corofpm/corofpm/net/sock"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"golang.org/x/sys/unix"
)

// acceptors is how many coroutines wait in Accept at once.
const acceptors = 4

// ANCHOR: echo-server
// echoServer accepts on l with a few acceptor coroutines and serves each
// connection in a coroutine of its own, written as blocking code: read,
// write back, until EOF. Every Read and Write parks on EAGAIN.
// onConn is told of each connection, in its coroutine.
func echoServer(c *coro.Co, l *coro.Listener, onConn func(*coro.Co, *coro.Conn)) {
	for range acceptors {
		c.Go(func(c *coro.Co) {
			for {
				conn, err := l.Accept(c)
				if err != nil {
					return // ErrClosed: the server stops
				}
				c.Go(func(c *coro.Co) {
					defer conn.Close()
					onConn(c, conn)
					buf := make([]byte, 4096)
					for {
						n, err := conn.Read(buf)
						if err != nil {
							return
						}
						if _, err := conn.Write(buf[:n]); err != nil {
							return
						}
					}
				})
			}
		})
	}
}

// ANCHOR_END: echo-server

// listen opens a hooked listening socket on a free loopback port.
func listen(c *coro.Co, p *coro.Poller) (*coro.Listener, error) {
	ln, err := sock.Listen("127.0.0.1:0", 4096)
	if err != nil {
		return nil, err
	}
	l, err := coro.NewListener(c.Scheduler(), p, ln)
	if err != nil {
		ln.Close()
	}
	return l, err
}

// echoResult is step 5's measurements.
type echoResult struct {
	Clients, Trips int
	Elapsed        time.Duration
	// Peak is the server's most coroutines alive at once, Threads the OS
	// threads its coroutines ran on, Turns its epoll_waits.
	Peak    int
	Threads int
	Turns   int64
	// Wrong counts echoes that differed from what was sent.
	Wrong int64
}

// echoLoad runs the echo server on a scheduler in this goroutine and
// cfg.clients goroutines, on Go's own netpoller, as its clients: each
// makes cfg.trips round trips of 64 bytes.
func echoLoad(n *narrator.Narrator, cfg settings) (echoResult, error) {
	r := echoResult{Clients: cfg.clients}
	s, p, err := newScheduler(cfg.clients + acceptors + 10)
	if err != nil {
		return r, err
	}
	defer p.Close()
	threads := map[int]bool{}
	var trips, wrong atomic.Int64
	err = s.Run(func(c *coro.Co) {
		l, err := listen(c, p)
		if err != nil {
			panic(err)
		}
		echoServer(c, l, func(*coro.Co, *coro.Conn) { threads[unix.Gettid()] = true })
		start := time.Now()
		tok := c.Park("the clients")
		go func() { // the clients, on other threads
			var wg sync.WaitGroup
			for range cfg.clients {
				wg.Go(func() {
					t, w := echoClient(l.Addr(), cfg.trips)
					trips.Add(int64(t))
					wrong.Add(int64(w))
				})
			}
			wg.Wait()
			tok.Post(nil)
		}()
		tok.Wait(coro.Forever)
		r.Elapsed = time.Since(start)
		l.Close() // the acceptors get ErrClosed and exit
	})
	if err != nil {
		return r, err
	}
	r.Trips, r.Wrong = int(trips.Load()), wrong.Load()
	r.Peak, r.Threads, r.Turns = s.Stats().Peak, len(threads), p.Turns
	t := n.Table("clients", "round trips", "in", "round trips/s", "server coroutines (peak)", "server threads", "epoll_waits")
	t.Row(r.Clients, r.Trips, r.Elapsed, int(float64(r.Trips)/r.Elapsed.Seconds()), r.Peak, r.Threads, r.Turns)
	t.Print()
	if r.Wrong > 0 {
		n.Warn("%d echoes differed from what was sent", r.Wrong)
	}
	n.Say("one coroutine per connection, each written as a blocking loop; one thread, one epoll_wait for all of them")
	return r, nil
}

// echoClient connects and makes trips round trips; it returns how many
// it made and how many came back wrong.
func echoClient(addr string, trips int) (done, wrong int) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, 0
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	msg, got := make([]byte, 64), make([]byte, 64)
	for i := range trips {
		copy(msg, fmt.Sprintf("trip %d of %s", i, conn.LocalAddr()))
		if _, err := conn.Write(msg); err != nil {
			return done, wrong
		}
		if _, err := io.ReadFull(conn, got); err != nil {
			return done, wrong
		}
		if string(got) != string(msg) {
			wrong++
		}
		done++
	}
	return done, wrong
}
