package main

import (
	"fmt"
	"time"

	"github.com/corofpm/corofpm/net/reactor"
	"github.com/corofpm/corofpm/net/sock"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"golang.org/x/sys/unix"
)

// Figures of the slow reader: the server's write limit, the socket
// buffers on both sides (kept small, so that the kernel does not absorb
// the whole transfer and hide what the server does), and the pace of the
// reading client.
const (
	slowLimit  = 64 << 10
	sockBuf    = 64 << 10
	readChunk  = 16 << 10
	readPerSec = 8 << 20
)

// slowCase is one run of the slow reader: a client sends Sent bytes as
// fast as it can to an echo server and reads the echo at readPerSec.
type slowCase struct {
	// Limit is the server's write limit; 0 is none.
	Limit int
	// Sent and Echoed are bytes; Intact says the echo was the same bytes
	// in the same order.
	Sent, Echoed int
	Intact       bool
	// Pauses and Resumes count OnPause calls: reading from the client
	// stopped, and started again once the write buffer drained.
	Pauses, Resumes int
	// Peak is the most the server's write buffer held.
	Peak int
	// Written is when the client's last write(2) returned; Read when it
	// had the whole echo. Both from the start.
	Written, Read time.Duration
}

func runSlow(n *narrator.Narrator, cfg settings) ([]slowCase, error) {
	n.Say("a client writes %s to the echo server as fast as it can, and reads the echo", size(cfg.slow))
	n.Say("at %s/s; socket buffers are set to %s on both sides", size(readPerSec), size(sockBuf))
	var cases []slowCase
	for _, limit := range []int{slowLimit, 0} {
		sc, err := slowReader(cfg.slow, limit)
		if err != nil {
			return cases, err
		}
		cases = append(cases, sc)
	}
	t := n.Table("write limit", "server buffer peak", "pauses", "resumes", "client's writes done", "echo read", "echo intact")
	for _, c := range cases {
		limit := "none"
		if c.Limit > 0 {
			limit = size(c.Limit)
		}
		t.Row(limit, size(c.Peak), c.Pauses, c.Resumes, c.Written, c.Read, fmt.Sprintf("%v (%s)", c.Intact, size(c.Echoed)))
	}
	t.Print()
	for _, c := range cases {
		n.Detail("limit %d: OnPause(true) %d times, OnPause(false) %d times; the buffer peaked at %d bytes", c.Limit, c.Pauses, c.Resumes, c.Peak)
	}
	n.Say("with a limit, the server stops reading the client whose echo is not draining;")
	n.Say("the socket's receive buffer fills, TCP's window closes, and the client's write(2)")
	n.Say("blocks until the reader catches up: the pressure reaches the sender. Without one,")
	n.Say("the server keeps everything in memory, for every slow client it has.")
	return cases, nil
}

// ANCHOR: slow-server
// slowServer is the echo server of the slow reader, with counters.
func slowServer(l *reactor.Loop, limit int, sc *slowCase, closed chan<- struct{}) (*reactor.Listener, error) {
	return l.Listen("127.0.0.1:0", func(c *reactor.Conn) {
		setBuffers(c.FD())
		c.SetWriteLimit(limit)
		c.OnData(func(c *reactor.Conn, p []byte) {
			c.Write(p)
			sc.Peak = max(sc.Peak, c.Buffered())
		})
		c.OnPause(func(_ *reactor.Conn, paused bool) {
			if paused {
				sc.Pauses++
			} else {
				sc.Resumes++
			}
		})
		c.OnClose(func(*reactor.Conn, error) { close(closed) })
	})
}

// ANCHOR_END: slow-server

// slowReader runs one case: server on a loop, client in this goroutine
// (reading) and another (writing).
func slowReader(total, limit int) (sc slowCase, err error) {
	sc.Limit, sc.Sent = limit, total
	l, err := reactor.New()
	if err != nil {
		return sc, err
	}
	ran := make(chan error, 1)
	go func() { ran <- l.Run() }()
	defer func() { l.Stop(); <-ran }()
	closed := make(chan struct{})
	var ln *reactor.Listener
	onLoop(l, func(done func()) { ln, err = slowServer(l, limit, &sc, closed); done() })
	if err != nil {
		return sc, err
	}
	c, err := sock.Dial(ln.Addr())
	if err != nil {
		return sc, err
	}
	defer c.Close()
	setBuffers(c.FD)
	if err := c.SetReadTimeout(10 * time.Second); err != nil {
		return sc, err
	}

	start := time.Now()
	written := make(chan time.Duration, 1)
	go func() {
		c.Write(pattern(0, total)) // blocks while the server does not read
		written <- time.Since(start)
	}()
	sc.Echoed, sc.Intact, err = readSlowly(c, total, start)
	if err != nil {
		return sc, err
	}
	sc.Read, sc.Written = time.Since(start), <-written
	c.Close()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		return sc, fmt.Errorf("the server did not see the client close")
	}
	onLoop(l, func(done func()) { done() }) // sc's counters, written on the loop, are final
	return sc, nil
}

// readSlowly reads total bytes at readPerSec and checks each against the
// pattern.
func readSlowly(c *sock.Conn, total int, start time.Time) (got int, intact bool, err error) {
	buf := make([]byte, readChunk)
	intact = true
	for got < total {
		k, err := c.Read(buf)
		if err != nil {
			return got, false, fmt.Errorf("reading the echo after %d bytes: %w", got, err)
		}
		for i, b := range buf[:k] {
			intact = intact && b == patternByte(got+i)
		}
		got += k
		if ahead := time.Duration(got)*time.Second/readPerSec - time.Since(start); ahead > 0 {
			time.Sleep(ahead)
		}
	}
	return got, intact, nil
}

// setBuffers sets a socket's send and receive buffers to sockBuf (the
// kernel doubles the figure for its bookkeeping).
func setBuffers(fd int) {
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, sockBuf)
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, sockBuf)
}

// pattern is bytes from offset on that tell their place in the stream,
// so that a lost or repeated chunk shows.
func pattern(offset, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = patternByte(offset + i)
	}
	return p
}

func patternByte(i int) byte { return byte(i*7 + i/251) }

// size prints a byte count in KiB or MiB.
func size(b int) string {
	switch {
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}
