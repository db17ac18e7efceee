package main

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// cell is one backend at one number of idle connections.
type cell struct {
	// Idle is the number of idle connections the server watched.
	Idle int
	// Wait is the median time of Poller.Wait: the system call, and for
	// select and poll the walk of the result to find the one ready fd.
	Wait time.Duration
	// Turn is the median time of a whole turn of the loop: Wait, then the
	// dispatch of the one event (read and echo).
	Turn time.Duration
	// Trips is how many round trips the medians are of: the planned
	// number, or fewer when the cell's time budget ran out first.
	Trips int
	// Err is why the backend could not hold that many connections, and
	// Held how many idle ones it did hold when it refused the next.
	Err  error
	Held int
}

// dial opens a blocking TCP connection to addr. A positive base moves the
// socket to the lowest free fd at or above base (fcntl F_DUPFD), so that
// the clients' fds leave the low numbers to the server's, as if the clients
// ran elsewhere: select's limit is on fd numbers, not on their count.
func dial(addr netip.AddrPort, base int) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	if base > 0 {
		high, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, base)
		unix.Close(fd)
		if err != nil {
			return -1, fmt.Errorf("F_DUPFD %d: %w", base, err)
		}
		fd = high
	}
	sa := &unix.SockaddrInet4{Addr: addr.Addr().As4(), Port: int(addr.Port())}
	for {
		err = unix.Connect(fd, sa)
		switch err {
		case unix.EINTR, unix.EALREADY:
			continue // a signal cut the wait; the handshake goes on
		case nil, unix.EISCONN:
			return fd, nil
		}
		unix.Close(fd)
		return -1, fmt.Errorf("connect %s: %w", addr, err)
	}
}

// bench is one backend's echo server with its clients: the active one and
// the idle ones.
type bench struct {
	srv    *server
	addr   netip.AddrPort
	active int   // the one client that talks
	idle   []int // clients that only exist
	base   int   // where the clients' fds start
}

func newBench(backend string, base int) (*bench, error) {
	srv, err := newServer(backend, "127.0.0.1:0", 4096, true)
	if err != nil {
		return nil, err
	}
	b := &bench{srv: srv, addr: netip.MustParseAddrPort(srv.ln.Addr), base: base}
	if b.active, err = dial(b.addr, base); err == nil {
		err = b.settle(1)
	}
	if err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

// settle turns the server's loop until it holds want connections.
func (b *bench) settle(want int) error {
	for tries := 0; len(b.srv.conns) < want; tries++ {
		if _, err := b.srv.turn(100 * time.Millisecond); err != nil {
			return err
		}
		if tries > 100 {
			return fmt.Errorf("%d connections accepted, want %d", len(b.srv.conns), want)
		}
	}
	return nil
}

// grow opens idle connections until there are n, in batches that the
// accept queue (backlog 4096) holds, the server accepting between batches.
func (b *bench) grow(n int) error {
	for len(b.idle) < n {
		for range min(256, n-len(b.idle)) {
			fd, err := dial(b.addr, b.base)
			if err != nil {
				return err
			}
			b.idle = append(b.idle, fd)
		}
		if err := b.settle(1 + len(b.idle)); err != nil {
			return err
		}
	}
	return nil
}

// ANCHOR: roundtrip
// minTrips is the fewest round trips a median is taken of, whatever the
// time budget says.
const minTrips = 31

// roundTrips has the active client send a message and read its echo, the
// server turning its loop once for each, up to trips times or until budget
// has passed, and returns the median times of Wait and of the whole turn.
func (b *bench) roundTrips(trips int, budget time.Duration) (c cell, err error) {
	msg, echo := make([]byte, 64), make([]byte, 64)
	var waits, turns []time.Duration
	start := time.Now()
	for i := 0; i < trips && (i < minTrips || time.Since(start) < budget); i++ {
		if _, err := unix.Write(b.active, msg); err != nil {
			return c, err
		}
		if n, err := b.srv.turn(time.Second); n != 1 || err != nil {
			return c, fmt.Errorf("turn %d: %d fds ready, %v", i, n, err)
		}
		waits, turns = append(waits, b.srv.lastWait), append(turns, b.srv.lastTurn)
		if _, err := readFull(b.active, echo); err != nil {
			return c, fmt.Errorf("echo %d: %w", i, err)
		}
	}
	return cell{Wait: median(waits), Turn: median(turns), Trips: len(waits)}, nil
}

// ANCHOR_END: roundtrip

// readFull reads len(p) bytes from a blocking fd.
func readFull(fd int, p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := unix.Read(fd, p[done:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return done, err
		}
		if n == 0 {
			return done, errors.New("EOF")
		}
		done += n
	}
	return done, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func (b *bench) close() {
	b.srv.stop() // the server closes first, so TIME_WAIT is on its side
	unix.Close(b.active)
	for _, fd := range b.idle {
		unix.Close(fd)
	}
}

// measure runs one backend through the sizes, growing the same server's
// idle connections, until the sizes end or the backend refuses more.
func measure(backend string, sizes []int, trips int, budget time.Duration, base int) ([]cell, error) {
	b, err := newBench(backend, base)
	if err != nil {
		return nil, err
	}
	defer b.close()
	var cells []cell
	for _, size := range sizes {
		if err := b.grow(size); err != nil {
			return append(cells, cell{Idle: size, Err: err, Held: len(b.srv.conns) - 1}), nil
		}
		c, err := b.roundTrips(trips, budget)
		if err != nil {
			return cells, fmt.Errorf("%s with %d idle connections: %w", backend, size, err)
		}
		c.Idle = size
		cells = append(cells, c)
	}
	return cells, nil
}
