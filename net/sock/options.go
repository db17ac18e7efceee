package sock

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ErrWouldBlock is what AcceptNow returns when no connection is waiting: the
// EAGAIN a non-blocking accept(2) gets. It wraps unix.EAGAIN.
var ErrWouldBlock = fmt.Errorf("sock: no connection waiting: %w", unix.EAGAIN)

// ListenReusePort is Listen with SO_REUSEPORT set before bind, for TCP
// addresses: every process that opens its own socket this way on the same
// host:port gets its own accept queue, and the kernel spreads incoming
// connections over them by a hash of the connection's addresses.
func ListenReusePort(addr string, backlog int) (*Listener, error) {
	return listenTCP(addr, backlog, unix.SO_REUSEADDR, unix.SO_REUSEPORT)
}

// FileListener makes a Listener of a listening socket inherited as a file
// (a child's fd 3). The Listener owns the fd from then on: Close closes it.
// A unix socket's path is asked from the kernel, but Close does not remove
// the file: it belongs to the process that bound it.
func FileListener(f *os.File) (*Listener, error) {
	fd := int(f.Fd())
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return nil, fmt.Errorf("sock: getsockname of inherited %s: %w", f.Name(), err)
	}
	l := &Listener{FD: fd, Addr: AddrString(sa), file: f}
	if _, ok := sa.(*unix.SockaddrUnix); ok {
		l.unixPeer = true
	}
	return l, nil
}

// Own makes Close remove a unix socket's file, as if this process had
// bound it: for a server that took the socket over from the process that
// did (an FPM master after a reload). It does nothing for TCP.
func (l *Listener) Own() { l.unix = l.unixPeer }

// SetNonblock switches the socket between blocking and non-blocking mode.
// The mode belongs to the open file description, not the fd: every process
// that inherited this socket sees the change.
func (l *Listener) SetNonblock(on bool) error {
	if err := unix.SetNonblock(l.FD, on); err != nil {
		return fmt.Errorf("sock: O_NONBLOCK on %s: %w", l.Addr, err)
	}
	return nil
}

// AcceptNow takes a connection that is already waiting, or returns
// ErrWouldBlock at once: accept4(2) with a non-blocking socket. The
// connection itself is blocking, like Accept's.
func (l *Listener) AcceptNow() (*Conn, error) {
	for {
		fd, peer, err := l.Accept4(unix.SOCK_CLOEXEC)
		switch {
		case err == unix.EINTR || err == unix.ECONNABORTED:
			continue
		case errors.Is(err, unix.EAGAIN):
			return nil, ErrWouldBlock
		case err != nil:
			return nil, fmt.Errorf("sock: accept on %s: %w", l.Addr, err)
		}
		return &Conn{FD: fd, Peer: peer}, nil
	}
}
