package sock

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Accept4 is one accept4(2) with flags (unix.SOCK_CLOEXEC,
// unix.SOCK_NONBLOCK), its error the bare errno (EAGAIN, EINTR,
// ECONNABORTED...) for callers that loop on their own terms, as coro's
// hooked Listener does. It returns the new fd and the peer's name.
//
// It reads the peer's address from the kernel's answer itself:
// x/sys/unix's Accept4 spends a getsockopt(2) on every IPv4 or IPv6
// connection (to tell an L2TP socket apart) and allocates the address, a
// system call more than a hello-world request needs.
func (l *Listener) Accept4(flags int) (fd int, peer string, err error) {
	var sa unix.RawSockaddrAny
	size := uint32(unix.SizeofSockaddrAny)
	r, _, errno := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(l.FD),
		uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&size)), uintptr(flags), 0, 0)
	if errno != 0 {
		return -1, "", errno
	}
	return int(r), l.peerOf(&sa), nil
}

// peerOf names an accepted connection's other end: host:port, or, for a
// unix socket, whose peers are unnamed, the socket's path.
func (l *Listener) peerOf(sa *unix.RawSockaddrAny) string {
	switch sa.Addr.Family {
	case unix.AF_INET:
		in := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(in.Addr), port(in.Port)).String()
	case unix.AF_INET6:
		in := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom16(in.Addr), port(in.Port)).String()
	}
	return "unix:" + l.Addr
}

// port reads a port as the kernel stores it, in network byte order.
func port(p uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return uint16(b[0])<<8 | uint16(b[1])
}
