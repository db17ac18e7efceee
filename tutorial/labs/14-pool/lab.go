//go:build !labref

package lab14

import (
	"errors"

	"github.com/corofpm/corofpm/coro"
)

// Run is the worker's accept loop, run as a coroutine c of the pool's
// scheduler. It accepts a connection while fewer than p.capacity are in
// flight, and serves each in a coroutine of its own with p.handler; with
// capacity connections in flight it accepts nothing, so that the next
// ones wait in the kernel's accept queue. After Stop it accepts no more,
// waits until every connection in flight is done, and returns nil; an
// accept error other than coro.ErrClosed is returned, also once those in
// flight are done.
func (p *Pool) Run(c *coro.Co) error {
	// TODO(lab): the accept loop, while !p.stopping:
	//   1. Wait for room while capacity connections are in flight. Count
	//      them in a coro.WaitGroup (inFlight.Add(1) per connection,
	//      Done when it ends; Count() is the number in flight). To wait,
	//      park: t := c.Park("pool full"); keep t where a connection's
	//      coroutine finds it, and t.Wait(coro.Forever); the first
	//      connection to end resumes it (t.Resume(nil), then forget t).
	//      A coro.Chan[struct{}] of capacity p.capacity works as well:
	//      Push before accepting, Pop when a connection ends.
	//   2. conn, err := p.ln.Accept(c). After Stop it fails with an error
	//      wrapping coro.ErrClosed: leave the loop. Another error: leave
	//      it too, and return that error at the end.
	//   3. c.Go(func(c *coro.Co) { ... }) serves conn: Go runs the new
	//      coroutine at once, until it first waits, then comes back here.
	//      In it, fc := fastcgi.NewConn(conn, conn.Peer(), fastcgi.Config{})
	//      and more, err := fc.ServeOne(p.handler), again while more is
	//      true (the web server sent FCGI_KEEP_CONN) and !p.stopping.
	//      io.EOF is the web server closing a kept connection between two
	//      requests: no request, and nothing to log. Another error: p.logf
	//      it in one line. Then conn.Close() (it also leaves the poller:
	//      a Conn not closed is an fd leaked) and give the room back.
	//      If Go fails (too many coroutines), close conn and give the room
	//      back at once.
	// Then, out of the loop, wait until none is in flight:
	// inFlight.Wait(c, coro.Forever).
	return errors.New("lab14: Run not written yet (TODO(lab))")
}
