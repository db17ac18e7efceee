package sock

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// tcpListen is TCP_LISTEN in the kernel's include/net/tcp_states.h, the
// state TCP_INFO reports for a listening socket.
const tcpListen = 10

// AcceptQueue says how many connections wait in a TCP listener's accept
// queue, handshake done, for someone to accept(2) them, and how many the
// queue may hold (the backlog, capped by net.core.somaxconn). It is what
// ss -lnt shows as Recv-Q and Send-Q. Linux reports both through
// getsockopt(TCP_INFO) on a listening socket, in the fields that mean
// "unacked" and "sacked" on a connection (tcp_get_info in
// net/ipv4/tcp.c). A unix socket has no TCP_INFO; its figures come from the
// kernel's socket diagnostics instead (ss -lx's Recv-Q and Send-Q).
func (l *Listener) AcceptQueue() (queued, limit int, err error) {
	if l.unixPeer {
		return unixAcceptQueue(l.FD, l.Addr)
	}
	info, err := unix.GetsockoptTCPInfo(l.FD, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return 0, 0, fmt.Errorf("sock: TCP_INFO on %s: %w", l.Addr, err)
	}
	if info.State != tcpListen {
		return 0, 0, fmt.Errorf("sock: TCP_INFO on %s: not listening (state %d)", l.Addr, info.State)
	}
	return int(info.Unacked), int(info.Sacked), nil
}
