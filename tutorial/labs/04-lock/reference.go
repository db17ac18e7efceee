//go:build labref

// Package lab04 is the lab of chapter 04: an accept lock, php's FCGI_LOCK
// and nginx's accept_mutex, which lets one worker at a time wait in
// accept(2) on a socket that several workers share.
package lab04

import (
	"fmt"

	"github.com/corofpm/corofpm/net/sock"
	"golang.org/x/sys/unix"
)

// AcceptLocked is the reference solution, built only with -tags labref so
// that CI can check the grader passes on correct code. Read it after your
// own.
func AcceptLocked(ln *sock.Listener) (*sock.Conn, error) {
	lock := unix.Flock_t{Type: unix.F_WRLCK}
	for {
		err := unix.FcntlFlock(uintptr(ln.FD), unix.F_SETLKW, &lock)
		if err == nil {
			break
		}
		if err != unix.EINTR {
			return nil, fmt.Errorf("lab04: lock %s: %w", ln.Addr, err)
		}
	}
	c, err := ln.Accept()
	unlock := unix.Flock_t{Type: unix.F_UNLCK}
	if uerr := unix.FcntlFlock(uintptr(ln.FD), unix.F_SETLK, &unlock); uerr != nil && err == nil {
		c.Close()
		return nil, fmt.Errorf("lab04: unlock %s: %w", ln.Addr, uerr)
	}
	return c, err
}
