package echo

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Load is the closed-loop client: conns connections, each sending a
// message and reading its echo back before sending the next, so that
// every connection has exactly one message in flight. It is the same
// client for every server, a goroutine per connection.
type Load struct {
	conns []net.Conn
	// trips counts the round trips completed, errors the echoes that
	// failed or came back wrong, while the load ran.
	trips, errors atomic.Int64
	stopped       atomic.Bool
	wg            sync.WaitGroup
}

// StartLoad connects conns connections to addr and starts them talking
// with messages of size bytes. They stop at Stop, or at the latest after
// limit, whatever happens: no load outlives its benchmark.
func StartLoad(addr string, conns, size int, limit time.Duration) (*Load, error) {
	l := &Load{}
	for range conns {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			l.Stop()
			return nil, fmt.Errorf("echo: load on %s: %w", addr, err)
		}
		c.SetDeadline(time.Now().Add(limit))
		l.conns = append(l.conns, c)
	}
	msg := make([]byte, size)
	for i := range msg {
		msg[i] = byte('a' + i%26)
	}
	for _, c := range l.conns {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			got := make([]byte, size)
			for !l.stopped.Load() {
				_, err := c.Write(msg)
				if err == nil {
					_, err = io.ReadFull(c, got)
				}
				switch {
				case l.stopped.Load():
					return
				case err != nil:
					l.errors.Add(1)
					return
				case !bytes.Equal(got, msg):
					l.errors.Add(1)
				default:
					l.trips.Add(1)
				}
			}
		}()
	}
	return l, nil
}

// Trips is the number of round trips completed so far.
func (l *Load) Trips() int64 { return l.trips.Load() }

// Errors is the number of failed or wrong echoes so far.
func (l *Load) Errors() int64 { return l.errors.Load() }

// Stop closes the connections and waits for their goroutines.
func (l *Load) Stop() {
	l.stopped.Store(true)
	for _, c := range l.conns {
		c.Close()
	}
	l.wg.Wait()
}

// OpenIdle opens n connections to addr that send nothing: what a server
// holds for keep-alive clients between their requests. A few dialers
// work at once, so that the server's accept queue never overflows (an
// overflow would cost a SYN retry, a second each).
func OpenIdle(addr string, n int) ([]net.Conn, error) {
	const dialers = 8
	conns := make([]net.Conn, n)
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for d := range dialers {
		wg.Go(func() {
			for i := d; i < n && failed.Load() == nil; i += dialers {
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					failed.Store(&err)
					return
				}
				conns[i] = c
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		CloseAll(conns)
		return nil, fmt.Errorf("echo: idle connections to %s: %w", addr, *err)
	}
	return conns, nil
}

// CloseAll closes every connection in conns that is open.
func CloseAll(conns []net.Conn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}
