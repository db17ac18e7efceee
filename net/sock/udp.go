package sock

import (
	"fmt"
	"io"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// PacketConn is a bound UDP socket on a blocking fd. UDP has no connection
// and no accept: one socket receives the datagrams of every peer, each with
// the address it came from, and answers each by address. The kernel keeps
// datagram boundaries: one WriteTo is one ReadFrom on the other side, never
// two halves and never two glued together.
type PacketConn struct {
	// FD is the socket's file descriptor.
	FD int
	// Addr is the bound address, with the port the kernel chose when asked
	// for 0: what peers send to.
	Addr string
	// inet6 is set for an AF_INET6 socket, which reaches IPv4 peers through
	// IPv4-mapped addresses (::ffff:127.0.0.1).
	inet6 bool
}

// ListenUDP opens a UDP socket bound to addr (host:port; port 0 lets the
// kernel choose). A client binds one too, to 127.0.0.1:0: it needs an
// address for the replies to come back to.
func ListenUDP(addr string) (*PacketConn, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, fmt.Errorf("sock: bind udp %s: %w", addr, err)
	}
	domain, sa := sockaddr(ap)
	fd, err := unix.Socket(domain, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sock: socket for udp %s: %w", addr, err)
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sock: bind udp %s: %w", addr, err)
	}
	bound, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sock: getsockname udp %s: %w", addr, err)
	}
	return &PacketConn{FD: fd, Addr: AddrString(bound), inet6: domain == unix.AF_INET6}, nil
}

// ReadFrom blocks in recvfrom(2) until a datagram arrives and returns its
// length and sender. A datagram longer than b is cut to len(b) and the rest
// is lost: size b for the largest datagram the protocol allows. An empty
// datagram is a datagram (n == 0); after Shutdown, ReadFrom returns io.EOF.
func (p *PacketConn) ReadFrom(b []byte) (int, netip.AddrPort, error) {
	for {
		n, sa, err := unix.Recvfrom(p.FD, b, 0)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, netip.AddrPort{}, fmt.Errorf("sock: recvfrom on udp %s: %w", p.Addr, err)
		case sa == nil: // no sender: woken by Shutdown, not by a datagram
			return 0, netip.AddrPort{}, io.EOF
		}
		return n, addrPort(sa), nil
	}
}

// WriteTo sends b as one datagram to peer with sendto(2). Nothing tells
// whether it arrived: a datagram to a port nobody listens on is dropped
// (the ICMP "port unreachable" that comes back is only reported to a
// connected socket).
func (p *PacketConn) WriteTo(b []byte, peer netip.AddrPort) (int, error) {
	to := peer
	if p.inet6 && peer.Addr().Is4() {
		to = netip.AddrPortFrom(netip.AddrFrom16(peer.Addr().As16()), peer.Port())
	}
	_, sa := sockaddr(to)
	for {
		err := unix.Sendto(p.FD, b, 0, sa)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("sock: sendto %s from udp %s: %w", peer, p.Addr, err)
		}
		return len(b), nil
	}
}

// SetReadTimeout bounds how long one ReadFrom may block (SO_RCVTIMEO):
// past it, ReadFrom fails with an error wrapping unix.EAGAIN. A UDP client
// needs it, since a lost datagram is never answered. Zero means no limit.
func (p *PacketConn) SetReadTimeout(d time.Duration) error {
	if err := setReadTimeout(p.FD, d); err != nil {
		return fmt.Errorf("sock: SO_RCVTIMEO on udp %s: %w", p.Addr, err)
	}
	return nil
}

// Shutdown wakes a thread blocked in ReadFrom, which returns io.EOF, so
// that a server loop can stop; Close alone would leave it asleep in
// recvfrom(2). Linux answers ENOTCONN for a socket that has no peer but
// marks it shut down and wakes its readers all the same, so that error is
// not one.
func (p *PacketConn) Shutdown() error {
	if err := unix.Shutdown(p.FD, unix.SHUT_RDWR); err != nil && err != unix.ENOTCONN {
		return fmt.Errorf("sock: shutdown udp %s: %w", p.Addr, err)
	}
	return nil
}

// Close closes the socket.
func (p *PacketConn) Close() error { return unix.Close(p.FD) }

// addrPort converts a datagram's sender to a netip.AddrPort, unmapping
// ::ffff:127.0.0.1 to 127.0.0.1 so that one peer has one name.
func addrPort(sa unix.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr).Unmap(), uint16(a.Port))
	}
	return netip.AddrPort{}
}
