package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"github.com/corofpm/corofpm/net/sock"
	"golang.org/x/sys/unix"
)

// streamServer is the blocking echo server for TCP and unix sockets: one
// goroutine locked to one OS thread, so that "one thread" is literally
// true, serving one connection at a time.
type streamServer struct {
	ln *sock.Listener
	// logf reports what the server does, tagged by the chapter.
	logf func(format string, args ...any)
	// tid is the server thread's id, to name it in the narration.
	tid int
	// done receives serve's result once Shutdown has woken it.
	done chan error

	// mu guards what the chapter reads while the server runs.
	mu sync.Mutex
	// cur is the connection being served, so that stop can wake a thread
	// blocked in read(2) on it (a reader's nc left open in -serve).
	cur *sock.Conn
	// accepted holds when accept(2) returned each connection, by peer: the
	// server's side of the timeline in step 5.
	accepted map[string]time.Time
}

// startStream starts the server's thread and returns once it runs.
func startStream(ln *sock.Listener, logf func(string, ...any)) *streamServer {
	s := &streamServer{ln: ln, logf: logf, done: make(chan error, 1), accepted: map[string]time.Time{}}
	started := make(chan int)
	go func() {
		runtime.LockOSThread() // this goroutine is the only one on its thread...
		started <- unix.Gettid()
		s.done <- s.serve() // ...and never unlocks: the thread ends with it
	}()
	s.tid = <-started
	return s
}

// ANCHOR: echo-server
// serve is the whole server. It blocks in accept(2) until a client
// connects, then in read(2) until that client sends, writes back what it
// read, and reads again until the client leaves (read returns 0: EOF).
// Only then does it call accept(2) again: while it serves one client,
// nobody accepts the next.
func (s *streamServer) serve() error {
	buf := make([]byte, 64<<10)
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return err // stop's Shutdown: EINVAL
		}
		s.serving(c)
		for {
			n, err := c.Read(buf)
			if err != nil {
				break // io.EOF: the client closed its end
			}
			if _, err := c.Write(buf[:n]); err != nil {
				break
			}
		}
		s.serving(nil)
		c.Close()
	}
}

// ANCHOR_END: echo-server

// serving records the connection being served, or nil once it is done.
func (s *streamServer) serving(c *sock.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c == nil {
		s.logf("%s left; back to accept(2)", s.cur.Peer)
		s.cur = nil
		return
	}
	s.cur = c
	s.accepted[c.Peer] = time.Now()
	s.logf("accepted %s (fd %d); now only it is served", c.Peer, c.FD)
}

// acceptedAt returns when the server accepted the connection from peer.
func (s *streamServer) acceptedAt(peer string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted[peer]
}

// stop wakes the thread wherever it blocks, in accept(2) or in read(2) on
// a client that stays, and waits for it to end.
func (s *streamServer) stop() error {
	s.ln.Shutdown()
	s.mu.Lock()
	if s.cur != nil {
		unix.Shutdown(s.cur.FD, unix.SHUT_RDWR) // its read(2) returns EOF
	}
	s.mu.Unlock()
	err := <-s.done
	if errors.Is(err, unix.EINVAL) {
		err = nil
	}
	return errors.Join(err, s.ln.Close())
}

// datagramServer is the UDP echo server: one socket, one thread, every
// peer.
type datagramServer struct {
	p    *sock.PacketConn
	logf func(format string, args ...any)
	done chan error

	// mu guards peers.
	mu sync.Mutex
	// peers counts datagrams by sender: one socket serves them all.
	peers map[netip.AddrPort]int
}

func startDatagram(p *sock.PacketConn, logf func(string, ...any)) *datagramServer {
	s := &datagramServer{p: p, logf: logf, done: make(chan error, 1), peers: map[netip.AddrPort]int{}}
	go func() {
		runtime.LockOSThread()
		s.done <- s.serve()
	}()
	return s
}

// ANCHOR: udp-server
// serve has no accept and no connection: each recvfrom(2) returns one
// datagram and who sent it, and sendto(2) answers that sender. Datagrams
// of different peers simply come one after the other.
func (s *datagramServer) serve() error {
	buf := make([]byte, 64<<10) // the largest UDP datagram fits
	for {
		n, from, err := s.p.ReadFrom(buf)
		if err == io.EOF {
			return nil // stop's Shutdown
		}
		if err != nil {
			return err
		}
		s.seen(from, n)
		if _, err := s.p.WriteTo(buf[:n], from); err != nil {
			s.logf("%v", err)
		}
	}
}

// ANCHOR_END: udp-server

func (s *datagramServer) seen(from netip.AddrPort, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.peers[from] == 0 {
		s.logf("first datagram from %s (%d bytes)", from, n)
	}
	s.peers[from]++
}

// peerCount says how many different peers the one socket served.
func (s *datagramServer) peerCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.peers)
}

func (s *datagramServer) stop() error {
	s.p.Shutdown()
	err := <-s.done
	return errors.Join(err, s.p.Close())
}

// echo sends msg on a stream connection and reads until as many bytes came
// back: a stream has no message boundaries, so the echo may arrive in
// several reads, and only its length says it is complete.
func echo(c *sock.Conn, msg []byte) (time.Duration, error) {
	start := time.Now()
	if _, err := c.Write(msg); err != nil {
		return 0, err
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return 0, err
	}
	rtt := time.Since(start)
	if !bytes.Equal(got, msg) {
		return rtt, fmt.Errorf("echo from %s: sent %q, got %q", c.Peer, msg, got)
	}
	return rtt, nil
}

// echoDatagram sends msg as one datagram to the server and reads one back.
func echoDatagram(p *sock.PacketConn, to netip.AddrPort, msg []byte) (time.Duration, error) {
	start := time.Now()
	if _, err := p.WriteTo(msg, to); err != nil {
		return 0, err
	}
	got := make([]byte, len(msg)+1) // one byte more: a longer reply would show
	n, from, err := p.ReadFrom(got)
	if err != nil {
		return 0, err
	}
	rtt := time.Since(start)
	if from != to || !bytes.Equal(got[:n], msg) {
		return rtt, fmt.Errorf("echo from %s: sent %q, got %q from %s", to, msg, got[:n], from)
	}
	return rtt, nil
}
