// Package sock is raw sockets over golang.org/x/sys/unix, outside Go's
// netpoller: the kernel objects exactly as a C server sees them. A listening
// socket here is a plain fd with a backlog you choose, and Accept is the
// accept4(2) system call on a blocking fd, which puts the calling thread to
// sleep in the kernel until a connection arrives, the way a php-fpm worker
// waits.
package sock

import (
	"fmt"
	"net/netip"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Listener is a listening socket.
type Listener struct {
	// FD is the socket's file descriptor, blocking unless made otherwise:
	// children inherit it and block in accept(2) on it.
	FD int
	// Addr is the bound address: host:port with the port the kernel chose
	// when asked for 0, or the unix socket path.
	Addr string
	// unix is set for a unix socket this process bound: Close removes its
	// file.
	unix bool
	// unixPeer is set for any unix socket: peers have no address.
	unixPeer bool
	// file is the *os.File FileListener was given, held so that its
	// finalizer cannot close FD while the Listener uses it; Close closes
	// the fd through it.
	file *os.File
}

// IsUnix reports whether addr names a unix socket path rather than
// host:port: any address with a '/'. No host:port contains one, and a socket
// in the current directory can still be named ./fpm.sock.
func IsUnix(addr string) bool { return strings.Contains(addr, "/") }

// Listen opens a blocking listening socket on addr (host:port, or a unix
// socket path) with the given accept backlog: the queue of connections the
// kernel completes before anyone accepts them. SO_REUSEADDR is set on TCP
// sockets so that a restarted server can bind at once.
func Listen(addr string, backlog int) (*Listener, error) {
	if IsUnix(addr) {
		return listenUnix(addr, backlog)
	}
	return listenTCP(addr, backlog, unix.SO_REUSEADDR)
}

// listenTCP binds a TCP socket to addr with the given SOL_SOCKET options
// set to 1 first, and listens with backlog.
func listenTCP(addr string, backlog int, opts ...int) (*Listener, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, fmt.Errorf("sock: listen %s: %w", addr, err)
	}
	domain, sa := sockaddr(ap)
	fd, err := unix.Socket(domain, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sock: socket for %s: %w", addr, err)
	}
	for _, opt := range opts {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, opt, 1); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("sock: setsockopt on %s: %w", addr, err)
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sock: bind %s: %w", addr, err)
	}
	if err := unix.Listen(fd, backlog); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sock: listen %s: %w", addr, err)
	}
	bound, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sock: getsockname %s: %w", addr, err)
	}
	return &Listener{FD: fd, Addr: AddrString(bound)}, nil
}

func listenUnix(path string, backlog int) (*Listener, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sock: socket for %s: %w", path, err)
	}
	os.Remove(path) // a stale socket file from a previous run would make bind fail
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sock: bind %s: %w", path, err)
	}
	if err := unix.Listen(fd, backlog); err != nil {
		unix.Close(fd)
		os.Remove(path)
		return nil, fmt.Errorf("sock: listen %s: %w", path, err)
	}
	return &Listener{FD: fd, Addr: path, unix: true, unixPeer: true}, nil
}

func sockaddr(ap netip.AddrPort) (int, unix.Sockaddr) {
	if ap.Addr().Is4() {
		return unix.AF_INET, &unix.SockaddrInet4{Addr: ap.Addr().As4(), Port: int(ap.Port())}
	}
	return unix.AF_INET6, &unix.SockaddrInet6{Addr: ap.Addr().As16(), Port: int(ap.Port())}
}

// AddrString formats a socket address as host:port or a unix path.
func AddrString(sa unix.Sockaddr) string {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)).String()
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port)).String()
	case *unix.SockaddrUnix:
		if a.Name == "" {
			return "unix:(unnamed)"
		}
		return a.Name
	}
	return fmt.Sprintf("%T", sa)
}

// Accept blocks in accept4(2) until a connection arrives and returns it. The
// Go runtime sees a thread blocked in a system call and runs other goroutines
// on another thread meanwhile. EINTR (the runtime preempting the thread with a
// signal) is retried. After Shutdown, Accept returns an error wrapping
// unix.EINVAL.
func (l *Listener) Accept() (*Conn, error) {
	for {
		fd, peer, err := l.Accept4(unix.SOCK_CLOEXEC)
		if err == unix.EINTR || err == unix.ECONNABORTED {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("sock: accept on %s: %w", l.Addr, err)
		}
		return &Conn{FD: fd, Peer: peer}, nil
	}
}

// Shutdown wakes every thread blocked in Accept on this socket (they return
// EINVAL) and stops new connections; Linux does this for shutdown(2) on a
// listening socket, where closing the fd would leave them asleep.
func (l *Listener) Shutdown() error {
	return unix.Shutdown(l.FD, unix.SHUT_RDWR)
}

// Close closes the socket, and removes a unix socket's file.
func (l *Listener) Close() error {
	var err error
	if l.file != nil {
		err = l.file.Close()
	} else {
		err = unix.Close(l.FD)
	}
	if l.unix {
		os.Remove(l.Addr)
	}
	return err
}

// File returns the socket as an *os.File, to hand to a child process in
// exec.Cmd.ExtraFiles; it is a duplicate, so close it after the start.
// The duplicate is close-on-exec, like the original: the child gets the
// socket only at the fd it was placed at (dup2 clears the flag there), not
// a second time at this fd's number.
func (l *Listener) File() (*os.File, error) {
	fd, err := unix.FcntlInt(uintptr(l.FD), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sock: dup %s: %w", l.Addr, err)
	}
	return os.NewFile(uintptr(fd), "listener "+l.Addr), nil
}
