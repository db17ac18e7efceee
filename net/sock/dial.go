package sock

import (
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// Dial connects to addr (host:port, or a unix socket path) with a blocking
// connect(2) and returns the connection, itself blocking. On loopback the
// handshake is done before connect returns, even when nobody has accepted
// yet: the kernel completes it into the listener's backlog. An error says
// the system call and the address, as in
//
//	sock: connect 127.0.0.1:9: connection refused
//
// and wraps the errno (unix.ECONNREFUSED, unix.ENOENT for a missing socket
// file, ...). There is no timeout: a connect to a host that never answers
// waits until the kernel gives up on its SYNs (about two minutes).
func Dial(addr string) (*Conn, error) {
	domain := unix.AF_UNIX
	var sa unix.Sockaddr = &unix.SockaddrUnix{Name: addr}
	if !IsUnix(addr) {
		ap, err := netip.ParseAddrPort(addr)
		if err != nil {
			return nil, fmt.Errorf("sock: connect %s: %w", addr, err)
		}
		domain, sa = sockaddr(ap)
	}
	fd, err := unix.Socket(domain, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sock: socket for %s: %w", addr, err)
	}
	if err := connect(fd, sa); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sock: connect %s: %w", addr, err)
	}
	return &Conn{FD: fd, Peer: addr}, nil
}

// connect is connect(2) on a blocking fd. A connect interrupted by a
// signal is not undone: POSIX says the handshake goes on in the kernel, and
// calling connect again would fail with EALREADY. So on EINTR it waits for
// the socket to become writable, which is when the handshake has ended, and
// asks SO_ERROR how it ended.
func connect(fd int, sa unix.Sockaddr) error {
	err := unix.Connect(fd, sa)
	if err != unix.EINTR {
		return err
	}
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		if _, err := unix.Poll(fds, -1); err == unix.EINTR {
			continue
		} else if err != nil {
			return err
		}
		errno, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			return err
		}
		if errno != 0 {
			return unix.Errno(errno)
		}
		return nil
	}
}

// LocalAddr asks the kernel for this end's address (getsockname(2)): the
// port a client was given, which is what the server sees as its peer. A
// unix socket's client end has no name: "unix:(unnamed)".
func (c *Conn) LocalAddr() (string, error) {
	sa, err := unix.Getsockname(c.FD)
	if err != nil {
		return "", fmt.Errorf("sock: getsockname of connection to %s: %w", c.Peer, err)
	}
	if u, ok := sa.(*unix.SockaddrUnix); ok && u.Name == "@" {
		// x/sys/unix reads an empty sun_path as the abstract name "@".
		return "unix:(unnamed)", nil
	}
	return AddrString(sa), nil
}

// SetReadTimeout bounds how long one Read may block (SO_RCVTIMEO): past
// it, Read fails with an error wrapping unix.EAGAIN. Zero means no limit.
// A client that must not hang forever on a silent server sets it.
func (c *Conn) SetReadTimeout(d time.Duration) error {
	if err := setReadTimeout(c.FD, d); err != nil {
		return fmt.Errorf("sock: SO_RCVTIMEO on connection to %s: %w", c.Peer, err)
	}
	return nil
}

func setReadTimeout(fd int, d time.Duration) error {
	tv := unix.NsecToTimeval(d.Nanoseconds())
	return unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
}
