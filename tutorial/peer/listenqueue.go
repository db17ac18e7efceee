package peer

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// ListenQueue says how many connections wait in the accept queue of the
// TCP listener on addr (an IPv4 host:port), handshake done, accepted by
// no one yet, whichever process owns the socket: what ss -lnt shows as
// Recv-Q. It reads /proc/net/tcp, where a listening socket's line reads
//
//	sl  local_address rem_address   st tx_queue rx_queue ...
//	 3: 0100007F:A1B2 00000000:0000 0A 00000000:00000060 ...
//
// state 0A is LISTEN, and for a listener the kernel prints the accept
// queue's length as rx_queue (0x60: 96 connections) and its limit, the
// backlog, as tx_queue. The address is the IPv4 address's four bytes as
// the host stores them (little-endian on amd64 and arm64), then the port.
func ListenQueue(addr string) (int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, fmt.Errorf("peer: listen queue of %q: %w", addr, err)
	}
	ip := net.ParseIP(host).To4()
	p, err := strconv.Atoi(port)
	if ip == nil || err != nil {
		return 0, fmt.Errorf("peer: listen queue of %q: want an IPv4 host:port", addr)
	}
	local := fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], p)
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return 0, fmt.Errorf("peer: listen queue of %s: %w", addr, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[1] == local && f[3] == "0A" {
			_, rx, _ := strings.Cut(f[4], ":")
			q, err := strconv.ParseInt(rx, 16, 64)
			if err != nil {
				return 0, fmt.Errorf("peer: listen queue of %s: %q: %w", addr, f[4], err)
			}
			return int(q), nil
		}
	}
	return 0, fmt.Errorf("peer: listen queue of %s: no listening socket there in /proc/net/tcp", addr)
}
