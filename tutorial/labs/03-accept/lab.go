//go:build !labref

// Package lab03 is the lab of chapter 03: the accept-serve loop of a
// blocking FPM worker, the loop every php-fpm worker runs.
package lab03

import (
	"errors"

	"github.com/corofpm/corofpm/net/fastcgi"
	"github.com/corofpm/corofpm/net/sock"
)

// Run is a worker's life: block in accept(2) on ln, serve every request
// of that connection with h, close it, accept the next. Several workers
// (processes) run Run on the same inherited listening socket: the kernel
// gives each connection to one of them.
//
// Run returns nil when ln is shut down (the master's way of stopping its
// workers: Accept then fails with an error wrapping unix.EINVAL), or once
// it has served maxRequests requests if maxRequests > 0 (php-fpm's
// pm.max_requests). Any other accept error is returned. A connection that
// fails (a malformed record, a peer that vanished) is logged with one
// logf line and closed; the worker goes on with the next connection.
func Run(ln *sock.Listener, h fastcgi.Handler, maxRequests int, logf func(format string, args ...any)) error {
	// TODO(lab): loop:
	//   1. c, err := ln.Accept(). If errors.Is(err, unix.EINVAL), return nil
	//      (the listener was shut down); another error, return it.
	//   2. Make the server side of the connection with
	//      fastcgi.NewConn(c, c.Peer, fastcgi.Config{}) (or one conn made
	//      before the loop and conn.Reset(c, c.Peer) for each connection).
	//   3. Serve its requests one at a time: more, err := conn.ServeOne(h),
	//      again while more is true (nginx sent FCGI_KEEP_CONN) and
	//      maxRequests is not reached. ServeOne returns io.EOF when a kept
	//      connection closes before its next request: no request, no
	//      error. On another error, logf it in one line and stop serving
	//      this connection. Count requests in the handler (wrap h in a
	//      fastcgi.HandlerFunc that adds one and calls h).
	//   4. c.Close(), at once: the web server waits for it to end a
	//      response without FCGI_KEEP_CONN, whose last bytes even wait in
	//      the kernel to leave with the FIN (fastcgi.LastWriter); and
	//      without it the fd leaks.
	//   5. If maxRequests > 0 and that many requests were served, return nil.
	return errors.New("lab03: Run not written yet (TODO(lab))")
}
