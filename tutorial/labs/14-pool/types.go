// Package lab14 is the lab of chapter 14: the heart of a coroutine FPM
// worker, a pool of request coroutines fed by one accept loop. The
// declarations in this file are given; Run, to write, is in lab.go.
package lab14

import (
	"github.com/corofpm/corofpm/coro"
	"github.com/corofpm/corofpm/net/fastcgi"
)

// Pool serves FastCGI connections, each in a coroutine of its own, at
// most capacity at a time. Everything in it runs on its scheduler's one
// thread, so its fields need no lock.
type Pool struct {
	// ln is the pool's listening socket, hooked: its Accept parks the
	// coroutine, not the thread, until a connection waits.
	ln *coro.Listener
	// handler runs each request, in its connection's coroutine: when it
	// sleeps or waits on IO through that coroutine, the others run.
	handler fastcgi.Handler
	// capacity is how many connections the pool serves at once
	// (worker.coroutines). The rest wait in the kernel's accept queue,
	// where the pool's other worker processes can take them.
	capacity int
	// logf reports what went wrong with one connection.
	logf func(format string, args ...any)
	// stopping is set by Stop: no new connection, and a kept connection
	// is closed after its current request.
	stopping bool
}

// New is a pool on ln that serves up to capacity connections at once.
func New(ln *coro.Listener, h fastcgi.Handler, capacity int, logf func(format string, args ...any)) *Pool {
	return &Pool{ln: ln, handler: h, capacity: capacity, logf: logf}
}

// Stop makes the pool take no new connection: it closes the listener,
// which wakes a coroutine parked in Accept with coro.ErrClosed. Run then
// returns once the requests in flight are done. Call it on the
// scheduler's thread: from a coroutine, or through Scheduler.Post.
func (p *Pool) Stop() {
	if !p.stopping {
		p.stopping = true
		p.ln.Close()
	}
}
