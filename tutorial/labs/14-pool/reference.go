//go:build labref

package lab14

import (
	"errors"
	"io"

	"github.com/corofpm/corofpm/coro"
	"github.com/corofpm/corofpm/net/fastcgi"
)

// Run is the reference solution, built only with -tags labref so that CI
// can check the grader passes on correct code. Read it after your own.
func (p *Pool) Run(c *coro.Co) error {
	var inFlight coro.WaitGroup
	// full is the accept loop's Park while capacity connections are in
	// flight; the first of them to end resumes it.
	var full *coro.Token
	var err error
	for !p.stopping {
		if inFlight.Count() >= p.capacity {
			full = c.Park("lab14: every coroutine busy")
			if _, err = full.Wait(coro.Forever); err != nil {
				break // canceled
			}
			continue
		}
		conn, aerr := p.ln.Accept(c)
		if aerr != nil {
			if !errors.Is(aerr, coro.ErrClosed) { // closed: that is Stop
				err = aerr
			}
			break
		}
		inFlight.Add(1)
		_, gerr := c.Go(func(c *coro.Co) {
			p.serve(conn)
			inFlight.Done()
			if t := full; t != nil {
				full = nil
				t.Resume(nil)
			}
		})
		if gerr != nil { // the web server sees the close, not silence
			p.logf("%s: %v", conn.Peer(), gerr)
			conn.Close()
			inFlight.Done()
		}
	}
	inFlight.Wait(c, coro.Forever)
	return err
}

// serve serves one connection's requests, one after the other, in this
// coroutine.
func (p *Pool) serve(conn *coro.Conn) {
	defer conn.Close()
	fc := fastcgi.NewConn(conn, conn.Peer(), fastcgi.Config{})
	for {
		more, err := fc.ServeOne(p.handler)
		if err != nil && err != io.EOF { // EOF: nginx closed a kept connection
			p.logf("%v", err)
		}
		if err != nil || !more || p.stopping {
			return
		}
	}
}
