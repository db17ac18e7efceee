// Chapter 08: sockets. A blocking echo server over TCP, a unix socket and
// UDP, written with raw system calls (net/sock); their round trips
// measured; two clients at once against the TCP server, where the second
// waits until the first leaves; and a listening socket handed to another
// process over a unix socket (SCM_RIGHTS).
package main

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/net/sock"
	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

var info = chapter.Info{
	Number: "08",
	Title:  "Sockets: one blocking thread, one client at a time",
	About: `An echo server in one blocking thread (socket, bind, listen, accept, read,
write) over TCP, over a unix socket and over UDP, with a client that times the
echo; the round trips of the three measured side by side. Then two clients at
once against the TCP server: the second connects at once but its echo only
comes back when the first has left, shown on a timeline. Last, the listening
socket is handed to another process over a unix socket (SCM_RIGHTS), which
accepts on it. With -serve, the TCP and UDP echo servers stay up for nc.`,
	DefaultListen: "127.0.0.1:9008",
}

func main() {
	proc.Main(roles)
	chapter.Main(info, func(n *narrator.Narrator, opts *chapter.Options) error {
		_, err := run(n, opts)
		return err
	}, serve)
}

// roles are the child processes this program can be re-executed as.
var roles = map[string]func(*proc.Child) error{"successor": successorMain}

// settings are the figures of one run; -quick shrinks them.
type settings struct {
	hold   time.Duration // how long client 1 stays connected in step 5
	echoes int           // round trips per transport in step 4
}

func settingsFor(quick bool) settings {
	if quick {
		return settings{hold: 300 * time.Millisecond, echoes: 2000}
	}
	return settings{hold: time.Second, echoes: 20000}
}

// exchange is one client's echo: what it sent, what came back.
type exchange struct {
	Sent, Got []string
	RTT       time.Duration
}

// result is what one run measured, for the chapter's test.
type result struct {
	Settings settings
	TCP      exchange
	Unix     exchange
	UDP      exchange
	// UDPPeers is how many clients the one UDP socket answered.
	UDPPeers int
	Latency  []latency
	Two      twoClients
	Handover handover
}

// servers are the three echo servers of a run, each on its own thread.
type servers struct {
	tcp, unix *streamServer
	udp       *datagramServer
}

func (s *servers) stop() {
	for _, st := range []*streamServer{s.tcp, s.unix} {
		if st != nil {
			st.stop()
		}
	}
	if s.udp != nil {
		s.udp.stop()
	}
}

// serverLog returns how a server reports what it does: tagged lines under
// -v, else nothing (the chapter narrates the important ones itself).
func serverLog(n *narrator.Narrator, name string) func(string, ...any) {
	pid := os.Getpid()
	return func(format string, args ...any) {
		if n.Verbose() {
			n.From(name, pid, format, args...)
		}
	}
}

func run(n *narrator.Narrator, opts *chapter.Options) (res result, err error) {
	cfg := settingsFor(opts.Quick)
	res.Settings = cfg
	n.Title(info.Number, info.Title)
	dir, err := os.MkdirTemp("", "corofpm-08-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	var s servers
	defer s.stop()

	n.Step("A TCP echo server in one blocking thread")
	if s.tcp, res.TCP, err = streamStep(n, "tcp server", "127.0.0.1:0", "hello over TCP"); err != nil {
		return res, err
	}

	n.Step("The same server over a unix socket")
	path := filepath.Join(dir, "echo.sock")
	if s.unix, res.Unix, err = streamStep(n, "unix server", path, "hello over a unix socket"); err != nil {
		return res, err
	}
	n.Say("a unix socket is a file in the filesystem: no port, no IP, no TCP handshake;")
	n.Say("the kernel copies the bytes from one socket's buffer to the other's")

	n.Step("UDP: no connection, no accept, one socket for every peer")
	if s.udp, err = udpStep(n, &res); err != nil {
		return res, err
	}

	n.Step("Round trips: TCP, unix socket, UDP")
	if res.Latency, err = measureLatency(n, &s, cfg.echoes); err != nil {
		return res, err
	}

	n.Step("Two clients at once, one thread")
	if res.Two, err = twoAtOnce(n, s.tcp, cfg.hold); err != nil {
		return res, err
	}

	n.Step("Handing the listening socket to another process (SCM_RIGHTS)")
	if res.Handover, err = handOver(n); err != nil {
		return res, err
	}

	n.Lesson("a blocking server is one thread in accept(2) or read(2): while it reads from one client, the kernel completes the next client's handshake into the backlog, but nobody reads it — client 2 waited %s for its echo, until client 1 left. Chapter 09 serves them all from one thread with select, poll and epoll.",
		res.Two.Wait.Round(time.Millisecond))
	return res, nil
}

// streamStep starts the echo server (named role in -v lines) on addr (TCP or unix) and sends it one
// message from a client.
func streamStep(n *narrator.Narrator, role, addr, msg string) (*streamServer, exchange, error) {
	var ex exchange
	ln, err := sock.Listen(addr, 16)
	if err != nil {
		return nil, ex, err
	}
	srv := startStream(ln, serverLog(n, role))
	n.Say("socket(2), bind(2), listen(2): fd %d on %s, backlog 16", ln.FD, ln.Addr)
	n.Say("the server thread (tid %d) blocks in accept(2)", srv.tid)

	c, err := sock.Dial(ln.Addr)
	if err != nil {
		return srv, ex, err
	}
	defer c.Close()
	local, err := c.LocalAddr()
	if err != nil {
		return srv, ex, err
	}
	ex.RTT, err = echo(c, []byte(msg))
	if err != nil {
		return srv, ex, err
	}
	ex.Sent, ex.Got = []string{msg}, []string{msg}
	n.Say("client: connect(2) from %s, write(2) %q, read(2) the same bytes back after %s",
		local, msg, ex.RTT.Round(time.Microsecond))
	return srv, ex, nil
}

// udpStep starts the UDP echo server; two clients send to its one socket,
// the first three datagrams of different sizes back to back.
func udpStep(n *narrator.Narrator, res *result) (*datagramServer, error) {
	p, err := sock.ListenUDP("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := startDatagram(p, serverLog(n, "udp server"))
	n.Say("socket(2), bind(2): fd %d on udp %s; no listen, no accept: the thread blocks in recvfrom(2)", p.FD, p.Addr)
	to := netip.MustParseAddrPort(p.Addr)

	a, err := sock.ListenUDP("127.0.0.1:0")
	if err != nil {
		return srv, err
	}
	defer a.Close()
	b, err := sock.ListenUDP("127.0.0.1:0")
	if err != nil {
		return srv, err
	}
	defer b.Close()
	for _, c := range []*sock.PacketConn{a, b} {
		if err := c.SetReadTimeout(5 * time.Second); err != nil {
			return srv, err // a lost datagram would otherwise hang the chapter
		}
	}

	sent := []string{"a", "bb", "ccc"}
	for _, m := range sent {
		if _, err := a.WriteTo([]byte(m), to); err != nil {
			return srv, err
		}
	}
	buf := make([]byte, 64)
	var sizes []string
	for range sent {
		k, _, err := a.ReadFrom(buf)
		if err != nil {
			return srv, err
		}
		res.UDP.Got = append(res.UDP.Got, string(buf[:k]))
		sizes = append(sizes, fmt.Sprint(k))
	}
	res.UDP.Sent = sent
	n.Say("client A (%s) sent %q, %q, %q back to back: three sendto(2)s", a.Addr, sent[0], sent[1], sent[2])
	n.Say("it got back three datagrams of %s bytes: the kernel keeps each one whole and apart",
		strings.Join(sizes, ", "))
	if res.UDP.RTT, err = echoDatagram(b, to, []byte("hello over UDP")); err != nil {
		return srv, err
	}
	res.UDPPeers = srv.peerCount()
	n.Say("client B (%s) sent %q: echoed after %s, from the same socket", b.Addr, "hello over UDP", res.UDP.RTT.Round(time.Microsecond))
	n.Say("the server's one fd answered %d peers, each by the address recvfrom(2) gave", res.UDPPeers)
	return srv, nil
}
