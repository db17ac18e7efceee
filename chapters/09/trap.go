package main

import (
	"errors"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// trapCase is one handler on one backend, fed the same burst.
type trapCase struct {
	Backend string
	Drain   bool // read until EAGAIN, or once per event
}

// trapRow is what one case did with a burst of Sent bytes.
type trapRow struct {
	trapCase
	Sent   int
	Events int // times the handler ran
	Echoed int // bytes the client got back
	Stuck  int // bytes left unread in the server's receive queue (SIOCINQ)
	FD     int // the server's side of the connection
	// Nudged are the same after the client sent one byte more: a new edge.
	NudgedEchoed, NudgedStuck int
}

// trapCases: the trap, the level-triggered poller that forgives it, and
// the fix.
var trapCases = []trapCase{{"epoll-et", false}, {"epoll", false}, {"epoll-et", true}}

const (
	trapChunk = 1024     // what the handler reads per call
	trapBurst = 3 * 1024 // what the client sends in one write
)

// ANCHOR: trap
// trap sends a 3 KiB burst to an echo server that reads 1 KiB per read(2),
// lets it turn its loop until a Wait times out (nothing more to report),
// and counts what came back and what is left in the kernel. Then it sends
// one byte more and counts again.
func trap(tc trapCase, idle time.Duration) (trapRow, error) {
	row := trapRow{trapCase: tc, Sent: trapBurst}
	srv, err := newServer(tc.Backend, "127.0.0.1:0", trapChunk, tc.Drain)
	if err != nil {
		return row, err
	}
	defer srv.stop()
	client, err := dial(netip.MustParseAddrPort(srv.ln.Addr), 0)
	if err != nil {
		return row, err
	}
	defer unix.Close(client)
	if _, err := srv.turn(time.Second); err != nil {
		return row, err
	}
	fd := -1 // the server's side of the one connection
	for k := range srv.conns {
		fd = k
	}
	if fd < 0 {
		return row, errors.New("the server accepted no connection")
	}
	row.FD = fd

	settle := func(payload []byte) (echoed, stuck int, err error) {
		if _, err := unix.Write(client, payload); err != nil {
			return 0, 0, err
		}
		for { // until a Wait reports nothing: the server is waiting for ever
			if n, err := srv.turn(idle); n == 0 || err != nil {
				break
			}
		}
		echoed = drainNow(client)
		stuck, err = unix.IoctlGetInt(fd, unix.SIOCINQ)
		return echoed, stuck, err
	}
	if row.Echoed, row.Stuck, err = settle(make([]byte, trapBurst)); err != nil {
		return row, err
	}
	row.Events = srv.reads
	row.NudgedEchoed, row.NudgedStuck, err = settle([]byte{'!'})
	return row, err
}

// ANCHOR_END: trap

// drainNow reads what has arrived on a blocking fd without waiting, and
// says how many bytes.
func drainNow(fd int) int {
	buf, total := make([]byte, 64<<10), 0
	for {
		n, _, err := unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return total
		}
		total += n
	}
}
