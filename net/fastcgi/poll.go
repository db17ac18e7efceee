package fastcgi

import (
	"errors"
	"io"
	"syscall"

	"golang.org/x/sys/unix"
)

// NowReader is a connection that can read what has already arrived without
// waiting for more. Raw-socket connections (net/sock) implement it; Go's
// net.Conn and os.File are polled through syscall.Conn instead.
type NowReader interface {
	// ReadNow returns 0, nil when nothing is waiting and 0, io.EOF when the
	// peer has closed its side.
	ReadNow(p []byte) (int, error)
}

// Poll reads, without blocking, whatever the peer sent while a script runs,
// and handles every whole record in it: ABORT_REQUEST marks the request
// aborted, a BEGIN_REQUEST for another id is refused (FCGI_CANT_MPX_CONN),
// management records are answered. A peer that closed its side aborts the
// request too. Poll returns false when the connection cannot be polled
// (it is neither a NowReader nor a syscall.Conn).
func (c *Conn) Poll() bool {
	c.closeStdout() // answers must not land inside an open STDOUT record
	c.borrow()
	defer c.lendBackIn()
	for c.err == nil {
		if rec, ok, err := c.buffered(); err != nil {
			c.err = err
		} else if ok {
			c.err = c.handle(rec)
			continue
		}
		if c.err != nil {
			break
		}
		if c.r > 0 {
			c.in = c.in[:copy(c.in, c.in[c.r:])]
			c.r = 0
		}
		if len(c.in) == cap(c.in) {
			return true // a record larger than the buffer: read it after the script
		}
		n, err := readNow(c.rw, c.in[len(c.in):cap(c.in)])
		c.in = c.in[:len(c.in)+n]
		switch {
		case errors.Is(err, errCannotPoll):
			return false
		case err == io.EOF:
			c.req.aborted = true
			return true
		case err != nil:
			c.err = err
		case n == 0:
			return true
		}
	}
	return true
}

var errCannotPoll = errors.New("cannot poll")

// readNow reads what has arrived on r without blocking.
func readNow(r io.Reader, p []byte) (int, error) {
	switch r := r.(type) {
	case NowReader:
		return r.ReadNow(p)
	case syscall.Conn:
		raw, err := r.SyscallConn()
		if err != nil {
			return 0, errCannotPoll
		}
		var n int
		var rerr error
		err = raw.Read(func(fd uintptr) bool {
			n, _, rerr = unix.Recvfrom(int(fd), p, unix.MSG_DONTWAIT)
			return true // never wait: this is a peek at the present
		})
		switch {
		case err != nil:
			return 0, err
		case rerr == unix.EAGAIN:
			return 0, nil
		case rerr == unix.ENOTSOCK:
			return 0, errCannotPoll
		case rerr != nil:
			return 0, rerr
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
	return 0, errCannotPoll
}
