package coro

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/corofpm/corofpm/net/sock"
	"golang.org/x/sys/unix"
)

// ANCHOR: dial
// Dial connects to addr (host:port, or a unix socket path) from coroutine
// c: a non-blocking connect(2), which answers EINPROGRESS at once; the
// coroutine parks until the socket is writable, which is when the
// handshake ended, and SO_ERROR tells how. A host name is resolved with
// LookupHost first. timeout bounds the whole of it; Forever waits as long
// as the kernel tries.
func Dial(c *Co, p *Poller, addr string, timeout time.Duration) (*Conn, error) {
	deadline := time.Time{}
	if timeout >= 0 {
		deadline = time.Now().Add(timeout)
	}
	domain, sa, err := resolve(c, addr)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Socket(domain, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("coro: dial %s: socket: %w", addr, err)
	}
	if domain != unix.AF_UNIX {
		// Requests are small and answered at once: do not let Nagle hold
		// the last segment back for an ACK.
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	}
	err = unix.Connect(fd, sa)
	if err != nil && err != unix.EINPROGRESS && err != unix.EINTR {
		unix.Close(fd)
		return nil, fmt.Errorf("coro: dial %s: %w", addr, err)
	}
	conn, err := NewConn(c.s, p, fd, addr)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	if err := conn.connected(deadline); err != nil {
		conn.Close()
		return nil, fmt.Errorf("coro: dial %s: %w", addr, err)
	}
	return conn, nil
}

// connected waits for the handshake to end and reads its result.
func (c *Conn) connected(deadline time.Time) error {
	for {
		soerr, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			return err
		}
		if soerr != 0 {
			return unix.Errno(soerr) // ECONNREFUSED, ETIMEDOUT, ...
		}
		// SO_ERROR is 0 both before and after a successful handshake; a
		// peer address says which.
		if _, err := unix.Getpeername(c.fd); err == nil {
			return nil
		}
		if err := c.wait(&c.writer, &c.wtok, true, deadline); err != nil {
			return err
		}
	}
}

// ANCHOR_END: dial

// resolve turns addr into a socket address, looking a host name up.
func resolve(c *Co, addr string) (int, unix.Sockaddr, error) {
	if sock.IsUnix(addr) {
		return unix.AF_UNIX, &unix.SockaddrUnix{Name: addr}, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, nil, fmt.Errorf("coro: dial %s: %w", addr, err)
	}
	if _, err := netip.ParseAddr(host); err != nil {
		addrs, err := LookupHost(c, host)
		if err != nil {
			return 0, nil, fmt.Errorf("coro: dial %s: %w", addr, err)
		}
		addr = net.JoinHostPort(addrs[0], port)
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return 0, nil, fmt.Errorf("coro: dial %s: %w", addr, err)
	}
	if ap.Addr().Is4() || ap.Addr().Is4In6() {
		return unix.AF_INET, &unix.SockaddrInet4{Addr: ap.Addr().Unmap().As4(), Port: int(ap.Port())}, nil
	}
	return unix.AF_INET6, &unix.SockaddrInet6{Addr: ap.Addr().As16(), Port: int(ap.Port())}, nil
}

// ANCHOR: lookup
// LookupHost resolves host to its addresses without blocking the
// scheduler. Go's resolver reads /etc/hosts, asks DNS servers over UDP
// and TCP, or calls the C library: reimplementing that hooked is a
// project of its own, and a lookup is rare next to reads and writes
// (HTTPClient keeps connections). So a goroutine, on another thread, does
// the lookup and posts the answer back; the coroutine parks meanwhile.
// If the coroutine is canceled first, the late answer finds a used token
// and is dropped.
func LookupHost(c *Co, host string) ([]string, error) {
	if _, err := netip.ParseAddr(host); err == nil {
		return []string{host}, nil
	}
	type answer struct {
		addrs []string
		err   error
	}
	tok := c.Park("lookup " + host)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		addrs, err := net.DefaultResolver.LookupHost(ctx, host)
		tok.Post(answer{addrs, err})
	}()
	v, err := tok.Wait(Forever)
	if err != nil {
		return nil, fmt.Errorf("coro: lookup %s: %w", host, err)
	}
	a := v.(answer)
	if a.err != nil {
		return nil, fmt.Errorf("coro: lookup %s: %w", host, a.err)
	}
	return a.addrs, nil
}

// ANCHOR_END: lookup
