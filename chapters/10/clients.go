package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/net/reactor"
	"github.com/corofpm/corofpm/net/sock"
	"golang.org/x/sys/unix"
)

// msgSize is a crowd message: the send time (nanoseconds since the
// clients' epoch) and a sequence number, 8 bytes each.
const msgSize = 16

// grace is how long the clients wait for the last echoes after the last
// message is due.
const grace = 5 * time.Second

// report is what the clients measured, sent to the server's process as
// one JSON line.
type report struct {
	Sent, Echoed int
	// Lost counts connections that closed before the end.
	Lost          int
	P50, P99, Max time.Duration
}

// clients is the crowd, on the child's own loop.
type clients struct {
	loop     *reactor.Loop
	conns    []*client
	interval time.Duration
	// epoch is the zero of the timestamps: the clients' own monotonic
	// clock, so the round trip is measured by one clock at one end.
	epoch time.Time
	// want is how many echoes end the load: every message sent.
	want int
	rep  report
	rtts []time.Duration
	// msg is the buffer each message is built in; Write copies what the
	// socket does not take.
	msg [msgSize]byte
	// finished receives the report once; over says it was sent.
	finished chan<- report
	over     bool
}

// client is one connection of the crowd.
type client struct {
	conn   *reactor.Conn
	ticker *reactor.Timer
	sent   int
	// partial holds a message cut in two by TCP until the rest arrives.
	partial [msgSize]byte
	have    int
}

// clientsMain is the child: it opens the connections, says so on the
// control socket (fd 3), waits for "go", sends its messages, and
// writes its report.
func clientsMain(c *proc.Child) error {
	if len(c.Args) != 4 || len(c.Files) != 1 {
		return fmt.Errorf("want addr conns interval load and a control socket")
	}
	conns, err := strconv.Atoi(c.Args[1])
	if err != nil {
		return err
	}
	interval, err := time.ParseDuration(c.Args[2])
	if err != nil {
		return err
	}
	load, err := time.ParseDuration(c.Args[3])
	if err != nil {
		return err
	}
	if _, _, err := fit(conns); err != nil {
		return err
	}
	ctl := c.Files[0]
	l, err := reactor.New()
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- l.Run() }()
	defer func() { l.Stop(); <-done }()

	start := time.Now()
	fds, err := dialAll(c.Args[0], conns)
	if err != nil {
		return err
	}
	finished := make(chan report, 1)
	cl := &clients{loop: l, interval: interval, finished: finished,
		rtts: make([]time.Duration, 0, conns*int(load/interval+1))}
	adopted := make(chan error, 1)
	l.Wake(func() { adopted <- cl.adopt(fds) })
	if err := <-adopted; err != nil {
		return err
	}
	fmt.Fprintf(ctl, "connected %d %d\n", conns, time.Since(start).Nanoseconds())
	if line, err := bufio.NewReader(ctl).ReadString('\n'); err != nil || line != "go\n" {
		return fmt.Errorf("waiting for go: %q %v", line, err)
	}
	l.Wake(func() { cl.begin(int(load / interval)) })
	select {
	case rep := <-finished:
		return json.NewEncoder(ctl).Encode(rep)
	case <-time.After(load + grace + 30*time.Second):
		return fmt.Errorf("the load did not end")
	}
}

// dialAll opens conns connections with blocking connect(2), before the
// loop has anything to do with them: on loopback each completes at once.
func dialAll(addr string, conns int) ([]int, error) {
	fds := make([]int, 0, conns)
	for range conns {
		sc, err := sock.Dial(addr)
		if err != nil {
			for _, fd := range fds {
				unix.Close(fd)
			}
			return nil, fmt.Errorf("connection %d: %w", len(fds)+1, err)
		}
		fds = append(fds, sc.FD)
	}
	return fds, nil
}

// adopt makes each fd a Conn of the loop.
func (cl *clients) adopt(fds []int) error {
	for i, fd := range fds {
		conn, err := cl.loop.NewConn(fd, "server")
		if err != nil {
			for _, fd := range fds[i:] {
				unix.Close(fd)
			}
			return err
		}
		c := &client{conn: conn}
		conn.OnData(func(_ *reactor.Conn, p []byte) { cl.received(c, p) })
		conn.OnClose(func(*reactor.Conn, error) {
			if !cl.over {
				cl.rep.Lost++
			}
		})
		cl.conns = append(cl.conns, c)
	}
	return nil
}

// ANCHOR: begin
// begin starts the load: connection i sends its first message at
// i/conns of the interval, so that the crowd's messages are spread over
// each second rather than sent in one burst, then one every interval,
// each messages of them.
func (cl *clients) begin(messages int) {
	cl.epoch = time.Now()
	cl.want = messages * len(cl.conns)
	for i, c := range cl.conns {
		offset := cl.interval * time.Duration(i) / time.Duration(len(cl.conns))
		cl.loop.After(offset, func() {
			cl.send(c)
			c.ticker = cl.loop.Every(cl.interval, func() {
				if cl.send(c); c.sent == messages {
					c.ticker.Stop()
				}
			})
		})
	}
	// A message lost for good would hold the report for ever.
	cl.loop.After(time.Duration(messages)*cl.interval+grace, cl.finish)
}

// send writes one message: the time now and a sequence number.
func (cl *clients) send(c *client) {
	c.sent++
	cl.rep.Sent++
	binary.LittleEndian.PutUint64(cl.msg[:8], uint64(time.Since(cl.epoch)))
	binary.LittleEndian.PutUint64(cl.msg[8:], uint64(cl.rep.Sent))
	c.conn.Write(cl.msg[:])
}

// received takes an echo, which TCP may have cut anywhere, and records
// the round trip of each whole message.
func (cl *clients) received(c *client, p []byte) {
	for len(p) > 0 {
		k := copy(c.partial[c.have:], p)
		c.have += k
		p = p[k:]
		if c.have < msgSize {
			return
		}
		c.have = 0
		sentAt := time.Duration(binary.LittleEndian.Uint64(c.partial[:8]))
		cl.rtts = append(cl.rtts, time.Since(cl.epoch)-sentAt)
		cl.rep.Echoed++
	}
	if cl.rep.Echoed == cl.want {
		cl.finish()
	}
}

// ANCHOR_END: begin

// finish computes the percentiles, closes the connections and hands the
// report over, once.
func (cl *clients) finish() {
	if cl.over {
		return
	}
	cl.over = true
	slices.Sort(cl.rtts)
	if k := len(cl.rtts); k > 0 {
		cl.rep.P50, cl.rep.P99, cl.rep.Max = cl.rtts[k/2], cl.rtts[k*99/100], cl.rtts[k-1]
	}
	for _, c := range cl.conns {
		c.conn.Close()
	}
	cl.finished <- cl.rep
}
