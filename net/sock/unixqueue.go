package sock

import (
	"encoding/binary"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// The kernel's unix socket diagnostics (include/uapi/linux/unix_diag.h),
// asked over a NETLINK_SOCK_DIAG socket, as ss -lx does.
const (
	udiagShowRQLen = 0x10 // UDIAG_SHOW_RQLEN: include the queue lengths
	unixDiagRQLen  = 4    // UNIX_DIAG_RQLEN, the attribute that holds them
	unixListen     = 10   // TCP_LISTEN: the state a listening unix socket reports
)

// unixAcceptQueue asks the kernel how many connections wait on a listening
// unix socket and how many may: for a listener, unix_diag's "rqueue" is
// the accept queue's length and "wqueue" the backlog. php-fpm reads only
// TCP_INFO and so shows 0 for unix sockets; this is the figure it misses.
//
// The request is one netlink message: a header, then unix_diag_req naming
// the socket by its inode, with no cookie (all ones):
//
//	nlmsghdr{len 40, type SOCK_DIAG_BY_FAMILY, flags NLM_F_REQUEST}
//	unix_diag_req{family AF_UNIX, states 1<<LISTEN, ino, show RQLEN, cookie ~0 ~0}
func unixAcceptQueue(fd int, addr string) (queued, limit int, err error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, 0, fmt.Errorf("sock: fstat %s: %w", addr, err)
	}
	nl, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return 0, 0, fmt.Errorf("sock: netlink sock_diag for %s: %w", addr, err)
	}
	defer unix.Close(nl)

	req := make([]byte, 16+24)
	le := binary.LittleEndian // netlink speaks the host's order; Linux/amd64 and arm64 are little-endian
	le.PutUint32(req[0:], uint32(len(req)))
	le.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	le.PutUint16(req[6:], unix.NLM_F_REQUEST)
	le.PutUint32(req[8:], 1) // sequence number
	body := req[16:]
	body[0] = unix.AF_UNIX
	le.PutUint32(body[4:], 1<<unixListen)
	le.PutUint32(body[8:], uint32(st.Ino))
	le.PutUint32(body[12:], udiagShowRQLen)
	le.PutUint32(body[16:], ^uint32(0))
	le.PutUint32(body[20:], ^uint32(0))
	if err := unix.Sendto(nl, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, 0, fmt.Errorf("sock: sock_diag request for %s: %w", addr, err)
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(nl, buf, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("sock: sock_diag reply for %s: %w", addr, err)
	}
	msgs, err := syscall.ParseNetlinkMessage(buf[:n])
	if err != nil {
		return 0, 0, fmt.Errorf("sock: sock_diag reply for %s: %w", addr, err)
	}
	for _, m := range msgs {
		if m.Header.Type == unix.NLMSG_ERROR {
			code := int32(le.Uint32(m.Data))
			return 0, 0, fmt.Errorf("sock: sock_diag for %s: %w", addr, unix.Errno(-code))
		}
		// unix_diag_msg is 16 bytes, then attributes (rtattr: len, type, data).
		if len(m.Data) < 16 {
			continue
		}
		attrs := m.Data[16:]
		for len(attrs) >= 4 {
			alen, atype := int(le.Uint16(attrs)), le.Uint16(attrs[2:])
			if alen < 4 || alen > len(attrs) {
				break
			}
			if atype == unixDiagRQLen && alen >= 12 {
				return int(le.Uint32(attrs[4:])), int(le.Uint32(attrs[8:])), nil
			}
			attrs = attrs[(alen+3)&^3:]
		}
	}
	return 0, 0, fmt.Errorf("sock: sock_diag for %s: no queue lengths in the reply", addr)
}
