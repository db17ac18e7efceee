//go:build labref

// Package lab03 is the lab of chapter 03: the accept-serve loop of a
// blocking FPM worker, the loop every php-fpm worker runs.
package lab03

import (
	"errors"
	"io"

	"github.com/corofpm/corofpm/net/fastcgi"
	"github.com/corofpm/corofpm/net/sock"
	"golang.org/x/sys/unix"
)

// Run is the reference solution, built only with -tags labref so that CI
// can check the grader passes on correct code. Read it after your own.
func Run(ln *sock.Listener, h fastcgi.Handler, maxRequests int, logf func(format string, args ...any)) error {
	served := 0
	// Count in the handler: ServeOne also returns when a kept connection
	// is closed before its next request, and that is no request.
	counted := fastcgi.HandlerFunc(func(w *fastcgi.Response, r *fastcgi.Request) {
		served++
		h.ServeFastCGI(w, r)
	})
	conn := fastcgi.NewConn(nil, "", fastcgi.Config{})
	for maxRequests == 0 || served < maxRequests {
		c, err := ln.Accept()
		if errors.Is(err, unix.EINVAL) {
			return nil
		}
		if err != nil {
			return err
		}
		conn.Reset(c, c.Peer)
		for more := true; more && (maxRequests == 0 || served < maxRequests); {
			if more, err = conn.ServeOne(counted); err != nil && err != io.EOF {
				logf("%v", err)
			}
		}
		c.Close()
	}
	return nil
}
