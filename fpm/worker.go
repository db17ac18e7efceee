// Package fpm is the PHP-FPM model: a master that owns the listening socket,
// workers that serve FastCGI requests, and (in later chapters) the process
// manager, the scoreboard and the status page.
package fpm

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corofpm/corofpm/net/fastcgi"
	"github.com/corofpm/corofpm/net/sock"
	"golang.org/x/sys/unix"
)

// BlockingWorker is php-fpm's worker: it blocks in accept(2) on the pool's
// listening socket, serves that connection's requests one at a time, and
// accepts again. While it serves, other connections wait in the socket's
// backlog or go to another worker blocked in accept(2) on the same socket.
type BlockingWorker struct {
	// Listener is the pool's socket, opened by the master and inherited.
	Listener *sock.Listener
	// Handler runs the scripts.
	Handler fastcgi.Handler
	// Config sets the FastCGI limits (and a trace, in chapter 01).
	Config fastcgi.Config
	// Logf reports a connection that ended in error; the worker goes on.
	Logf func(format string, args ...any)
	// MaxRequests ends the worker after it served that many requests
	// (pm.max_requests: a leaky script cannot grow a worker for ever);
	// 0 means no limit.
	MaxRequests int
	// Allow, when set, decides whether a peer may talk to the pool
	// (listen.allowed_clients); a refused connection is closed at once.
	Allow func(peer string) bool
	// OnIdle and OnConn, when set, are told when the worker starts waiting
	// for a connection or for the next request on a kept one (it is idle),
	// and when a connection arrives: the scoreboard's stages.
	OnIdle, OnConn func()

	// Peer and Accepted describe the connection being served, for a
	// handler that wants to know (chapter 01 times the backlog wait).
	Peer     string
	Accepted time.Time
	// Served counts the requests served.
	Served int

	// stopping is set by Stop: finish the request in hand, then return.
	stopping atomic.Bool
	// mu guards kept: the fd of the connection waiting, between two
	// requests, for the web server's next one (-1 for none). Stop shuts
	// its reading side, or a graceful stop would wait for nginx to let go
	// of a keep-alive connection. The lock keeps Stop from touching the fd
	// number once the worker has closed it and the kernel may reuse it.
	mu   sync.Mutex
	kept int
}

// Stop asks Run to return once the current request is done, without taking
// another connection. It is safe from another goroutine (a signal handler).
// A worker blocked in accept(2) notices when accept returns: at the next
// connection, or at the listening socket's receive timeout (SO_RCVTIMEO),
// which the FPM master sets so that idle workers can stop in time.
func (w *BlockingWorker) Stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopping.Store(true)
	if w.kept >= 0 {
		unix.Shutdown(w.kept, unix.SHUT_RD) // its read returns EOF: serve ends
	}
}

// keep records the connection fd waits for its next request (-1: none).
func (w *BlockingWorker) keep(fd int) {
	w.mu.Lock()
	w.kept = fd
	w.mu.Unlock()
}

// ANCHOR: accept-loop
// Run is the worker's life: block in accept(2), serve that connection's
// requests to the end, close it, and accept the next. It returns nil when
// the listener is shut down, the worker was stopped, or it served
// MaxRequests.
func (w *BlockingWorker) Run() error {
	w.keep(-1)
	conn := fastcgi.NewConn(nil, "", w.Config) // reused: warm buffers
	for !w.done() {
		call(w.OnIdle)
		c, err := w.Listener.Accept() // the thread sleeps in the kernel here
		switch {
		case errors.Is(err, unix.EAGAIN):
			continue // SO_RCVTIMEO expired: look at the stop flag again
		case errors.Is(err, unix.EINVAL):
			return nil // the listener was shut down: time to stop
		case err != nil:
			return err
		}
		w.Peer, w.Accepted = c.Peer, time.Now()
		// The connection inherited the listener's SO_RCVTIMEO (Linux
		// copies socket options to accepted sockets): without this, a
		// client pausing mid-request, or nginx keeping the connection
		// idle, would be cut when it expires.
		if err := c.SetReadTimeout(0); err != nil {
			w.logf("%v", err)
		}
		call(w.OnConn)
		if w.Allow != nil && !w.Allow(c.Peer) {
			w.logf("connection from disallowed IP address '%s' is dropped", c.Peer)
			c.Close()
			continue
		}
		conn.Reset(c, c.Peer)
		if err := w.serve(conn, c.FD); err != nil {
			w.logf("%v", err) // one line; the next connection is served
		}
		w.keep(-1) // before the close: the fd number is free after it
		c.Close()
	}
	return nil
}

// ANCHOR_END: accept-loop

// serve runs the connection's requests while the web server keeps it and
// the worker is not done.
func (w *BlockingWorker) serve(conn *fastcgi.Conn, fd int) error {
	handler := fastcgi.HandlerFunc(func(rw *fastcgi.Response, r *fastcgi.Request) {
		w.keep(-1) // a request in hand: Stop lets it finish
		w.Handler.ServeFastCGI(rw, r)
	})
	for {
		more, err := conn.ServeOne(handler)
		if err == io.EOF {
			return nil // the web server closed a kept connection: no request
		}
		if err != nil {
			return err
		}
		w.Served++
		if !more || w.done() {
			return nil
		}
		call(w.OnIdle)
		w.keep(fd)
		if w.done() { // Stop came before keep: it did not see this fd
			return nil
		}
	}
}

func call(f func()) {
	if f != nil {
		f()
	}
}

func (w *BlockingWorker) done() bool {
	return w.stopping.Load() || (w.MaxRequests > 0 && w.Served >= w.MaxRequests)
}

func (w *BlockingWorker) logf(format string, args ...any) {
	if w.Logf != nil {
		w.Logf(format, args...)
	}
}
