package main

import (
	"errors"
	"io"
	"slices"
	"time"

	"github.com/corofpm/corofpm/net/sock"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

// clientTimes is one client's side of the timeline, and the server's
// accept of it; one clock for all, since they share a process.
type clientTimes struct {
	Local     string    // the client's address: the server's name for it
	Connected time.Time // connect(2) returned
	Sent      time.Time // write(2) of its first message returned
	Accepted  time.Time // the server's accept(2) returned this connection
	Echoed    time.Time // the whole echo was read
	Left      time.Time // just before close(2)
}

// twoClients is step 5's measurement.
type twoClients struct {
	Start   time.Time
	Clients [2]clientTimes
	// Queued and Limit are the listener's accept queue while client 2
	// waited: connections the kernel completed that nobody accepted yet.
	Queued, Limit int
	// Wait is client 2's round trip: from its write to its echo.
	Wait time.Duration
}

// twoAtOnce connects client 1 and keeps it for hold; meanwhile client 2
// connects and sends. The one server thread is in read(2) on client 1, so
// client 2's echo can only come once client 1 has left.
func twoAtOnce(n *narrator.Narrator, srv *streamServer, hold time.Duration) (twoClients, error) {
	tw := twoClients{Start: time.Now()}
	c1, err := firstEcho(srv.ln.Addr, "1", &tw.Clients[0], nil)
	if err != nil {
		return tw, err
	}
	n.Say("client 1 connects, sends %q, gets its echo, then stays connected for %s", "1", hold)

	sent := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		c2, err := firstEcho(srv.ln.Addr, "2", &tw.Clients[1], sent)
		if c2 != nil {
			tw.Clients[1].Left = time.Now()
			c2.Close()
		}
		done <- err
	}()
	select {
	case <-sent:
		tw.Queued, tw.Limit, err = srv.ln.AcceptQueue()
	case err := <-done:
		c1.Close()
		return tw, err
	}
	time.Sleep(time.Until(tw.Clients[0].Connected.Add(hold)))
	tw.Clients[0].Left = time.Now()
	c1.Close()
	if err = errors.Join(err, <-done); err != nil {
		return tw, err
	}
	for i := range tw.Clients {
		tw.Clients[i].Accepted = srv.acceptedAt(tw.Clients[i].Local)
	}
	tw.Wait = tw.Clients[1].Echoed.Sub(tw.Clients[1].Sent)
	printTimeline(n, tw)
	return tw, nil
}

// firstEcho connects, sends msg and reads its echo, recording when each
// happened, and closes sent (if not nil) once msg is written. The
// connection stays open for the caller to close.
func firstEcho(addr, msg string, ct *clientTimes, sent chan struct{}) (*sock.Conn, error) {
	c, err := sock.Dial(addr)
	if err != nil {
		return nil, err
	}
	ct.Connected = time.Now()
	// Client 2 waits for its echo as long as client 1 stays: a second or
	// so. Ten is a failure, not a wait.
	if err := c.SetReadTimeout(10 * time.Second); err != nil {
		return c, err
	}
	if ct.Local, err = c.LocalAddr(); err != nil {
		return c, err
	}
	if _, err := c.Write([]byte(msg)); err != nil {
		return c, err
	}
	ct.Sent = time.Now()
	if sent != nil {
		close(sent)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return c, err
	}
	ct.Echoed = time.Now()
	return c, nil
}

// event is one line of the timeline.
type event struct {
	at   time.Time
	who  string
	what string
}

// printTimeline puts both clients' timestamps and the server's accepts in
// the order they happened.
func printTimeline(n *narrator.Narrator, tw twoClients) {
	var events []event
	for i, c := range tw.Clients {
		who := []string{"client 1", "client 2"}[i]
		events = append(events,
			event{c.Connected, who, "connect(2) returned: handshake done"},
			event{c.Sent, who, "write(2) of its message returned"},
			event{c.Accepted, "server", "accept(2) returned " + who},
			event{c.Echoed, who, "read(2) got the echo"},
			event{c.Left, who, "close(2)"})
	}
	slices.SortStableFunc(events, func(a, b event) int { return a.at.Compare(b.at) })
	tab := n.Table("time", "who", "what")
	for _, e := range events {
		tab.Row(e.at.Sub(tw.Start), e.who, e.what)
	}
	tab.Print()
	c2 := tw.Clients[1]
	n.Say("client 2's connect(2) returned at once: the kernel finished the handshake and queued")
	n.Say("the connection (accept queue: %d of %d, from TCP_INFO). Its bytes waited in the", tw.Queued, tw.Limit)
	n.Say("socket's buffer %s, from its write(2) to its echo: the server thread was in", tw.Wait.Round(time.Millisecond))
	n.Say("read(2) on client 1, and accepted client 2 only %s after client 1 closed.",
		c2.Accepted.Sub(tw.Clients[0].Left).Round(time.Microsecond))
}
