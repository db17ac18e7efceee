package lab09

// This is the grader of lab 09. Run it with
//
//	make lab N=09        (or: go test ./tutorial/labs/09-echo -run Lab09 -v)
//
// Edit lab.go, not this file: the original is used for grading. Every test
// runs twice, on level-triggered epoll ("epoll") and on edge-triggered
// epoll ("epoll-et"), with real TCP clients on loopback.

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corofpm/corofpm/net/poll"
	"github.com/corofpm/corofpm/net/sock"
)

// server is Serve running in a goroutine of the test.
type server struct {
	addr string
	stop atomic.Bool
	done chan error
}

// forEachTrigger runs test as a subtest on each epoll backend.
func forEachTrigger(t *testing.T, test func(t *testing.T, s *server)) {
	for _, backend := range []string{"epoll", "epoll-et"} {
		t.Run(backend, func(t *testing.T) { test(t, start(t, backend)) })
	}
}

func start(t *testing.T, backend string) *server {
	t.Helper()
	p, err := poll.New(backend)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := sock.Listen("127.0.0.1:0", 128)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{addr: ln.Addr, done: make(chan error, 1)}
	go func() { s.done <- Serve(p, ln, &s.stop) }()
	t.Cleanup(func() {
		s.stop.Store(true)
		select {
		case <-s.done:
		case <-time.After(2 * time.Second):
			t.Errorf("Serve still running 2 s after stop was set")
			return // it still uses ln and p
		}
		ln.Close()
		p.Close()
	})
	select {
	case err := <-s.done:
		s.done <- err
		t.Fatalf("Serve returned at once (%v): it should serve until stop is set", err)
	case <-time.After(20 * time.Millisecond):
	}
	return s
}

// dial connects with a 5 s deadline on everything after.
func (s *server) dial(t *testing.T) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.addr, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// echo sends msg on c and reads as many bytes back.
func echo(c net.Conn, msg []byte) error {
	if _, err := c.Write(msg); err != nil {
		return err
	}
	got := make([]byte, len(msg))
	n, err := io.ReadFull(c, got)
	if err != nil {
		return fmt.Errorf("sent %d bytes, got %d back: %w", len(msg), n, err)
	}
	if !bytes.Equal(got, msg) {
		return fmt.Errorf("sent %q, got %q back", msg, got)
	}
	return nil
}

func TestLab09Echo(t *testing.T) {
	forEachTrigger(t, func(t *testing.T, s *server) {
		c := s.dial(t)
		for _, msg := range []string{"hello\n", "again\n"} {
			if err := echo(c, []byte(msg)); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestLab09ManyClients connects 50 clients at once: edge-triggered, one
// readiness event on the listening socket may stand for all of them.
func TestLab09ManyClients(t *testing.T) {
	forEachTrigger(t, func(t *testing.T, s *server) {
		const clients = 50
		conns := make([]*net.TCPConn, clients)
		for i := range conns {
			conns[i] = s.dial(t)
		}
		var wg sync.WaitGroup
		errs := make([]error, clients)
		for i, c := range conns {
			wg.Go(func() {
				for j := range 10 {
					if err := echo(c, fmt.Appendf(nil, "client %d message %d\n", i, j)); err != nil {
						errs[i] = err
						return
					}
				}
			})
		}
		wg.Wait()
		failed := 0
		for i, err := range errs {
			if err != nil {
				if failed++; failed <= 3 {
					t.Errorf("client %d: %v", i, err)
				}
			}
		}
		if failed > 0 {
			t.Errorf("%d of %d clients connected at once were not served: accept until ErrWouldBlock, and never block on one client", failed, clients)
		}
	})
}

// TestLab09Drains sends 1 MiB in one write and waits for all of it back.
// Edge-triggered, a connection that is not read until EAGAIN keeps its
// leftover bytes in the kernel, and epoll never reports them again.
func TestLab09Drains(t *testing.T) {
	forEachTrigger(t, func(t *testing.T, s *server) {
		c := s.dial(t)
		msg := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
		go c.Write(msg) // the server echoes while we write
		got := make([]byte, len(msg))
		n, err := io.ReadFull(c, got)
		if err != nil {
			t.Fatalf("sent %d bytes, got %d back in 5 s (%v): read each readable connection until EAGAIN", len(msg), n, err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("sent %d bytes, got as many back but not the same: an echo must keep the bytes in order", len(msg))
		}
	})
}

// TestLab09ClosesOnEOF half-closes a client: the server reads 0 bytes,
// echoes nothing more, and closes its side.
func TestLab09ClosesOnEOF(t *testing.T) {
	forEachTrigger(t, func(t *testing.T, s *server) {
		c := s.dial(t)
		c.Write([]byte("bye"))
		c.CloseWrite()
		got, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("after the client's close (a read of 0 bytes for the server), the server must close the connection: %v; got %q", err, got)
		}
		if string(got) != "bye" {
			t.Errorf("got %q before the close, want %q", got, "bye")
		}
	})
}

// TestLab09Backpressure has one client send 8 MiB without reading its
// echoes. The server's writes to it fill the send buffer and get EAGAIN;
// meanwhile another client must be served, and in the end the first one
// must get every byte back.
func TestLab09Backpressure(t *testing.T) {
	forEachTrigger(t, func(t *testing.T, s *server) {
		hog := s.dial(t)
		hog.SetDeadline(time.Now().Add(10 * time.Second))
		msg := bytes.Repeat([]byte("backpressure!\n"), 8<<20/14)
		sent := make(chan error, 1)
		go func() { _, err := hog.Write(msg); sent <- err }()
		time.Sleep(300 * time.Millisecond) // the buffers between fill up

		other := s.dial(t)
		other.SetDeadline(time.Now().Add(2 * time.Second))
		if err := echo(other, []byte("still there?\n")); err != nil {
			t.Fatalf("while a client did not read its echoes, another client was not served within 2 s: %v\n"+
				"  (a write that gets EAGAIN must not be retried in a loop, nor make the server wait)", err)
		}

		got := make([]byte, len(msg))
		n, err := io.ReadFull(hog, got)
		if err != nil {
			t.Fatalf("the client that did not read: sent %d bytes, got %d back (%v): keep what a write could not take and send it once the socket is Writable", len(msg), n, err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("the client that did not read got %d bytes back but not the ones it sent: bytes were dropped or reordered after EAGAIN", n)
		}
		if err := <-sent; err != nil {
			t.Fatal(err)
		}
	})
}

// TestLab09Stop sets stop with a client connected: Serve returns nil and
// closes the connection.
func TestLab09Stop(t *testing.T) {
	forEachTrigger(t, func(t *testing.T, s *server) {
		c := s.dial(t)
		if err := echo(c, []byte("hi")); err != nil {
			t.Fatal(err)
		}
		s.stop.Store(true)
		select {
		case err := <-s.done:
			s.done <- err
			if err != nil {
				t.Errorf("after stop Serve must return nil, got %v", err)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("Serve still running 2 s after stop was set: wait with a timeout and look at stop every turn")
		}
		c.SetDeadline(time.Now().Add(time.Second))
		if n, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("after Serve returned, a client's read gave %d bytes, %v; want EOF: close every connection before returning", n, err)
		}
	})
}
