// Package fpm is the PHP-FPM model: a master that owns the listening socket,
// workers that serve FastCGI requests, and (in later chapters) the process
// manager, the scoreboard and the status page.
package fpm

import (
	"errors"
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

	// Peer and Accepted describe the connection being served, for a
	// handler that wants to know (chapter 01 times the backlog wait).
	Peer     string
	Accepted time.Time
}

// ANCHOR: accept-loop
// Run is the worker's life: block in accept(2), serve that connection's
// requests to the end, close it, and accept the next. It returns nil when
// the listener is shut down.
func (w *BlockingWorker) Run() error {
	conn := fastcgi.NewConn(nil, "", w.Config) // reused: warm buffers
	for {
		c, err := w.Listener.Accept() // the thread sleeps in the kernel here
		if errors.Is(err, unix.EINVAL) {
			return nil // the listener was shut down: time to stop
		}
		if err != nil {
			return err
		}
		w.Peer, w.Accepted = c.Peer, time.Now()
		conn.Reset(c, c.Peer)
		if err := conn.Serve(w.Handler); err != nil && w.Logf != nil {
			w.Logf("%v", err) // one line; the next connection is served
		}
		c.Close()
	}
}

// ANCHOR_END: accept-loop
