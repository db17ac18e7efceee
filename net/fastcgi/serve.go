package fastcgi

import (
	"io"
	"runtime/debug"
)

// Handler runs one request: the role a PHP script plays in php-fpm.
type Handler interface {
	ServeFastCGI(w *Response, r *Request)
}

// HandlerFunc lets an ordinary function be a Handler.
type HandlerFunc func(w *Response, r *Request)

// ServeFastCGI calls f(w, r).
func (f HandlerFunc) ServeFastCGI(w *Response, r *Request) { f(w, r) }

// Serve runs requests on the connection one after the other until the web
// server closes it or asks for it to be closed (no FCGI_KEEP_CONN). It
// returns nil for a clean end and the error otherwise; the caller closes
// the connection either way, at once (see LastWriter). A handler that
// panics gets a 500 and a log line on STDERR, like a PHP fatal error, and
// the connection goes on.
func (c *Conn) Serve(h Handler) error {
	for {
		more, err := c.ServeOne(h)
		if err == io.EOF {
			return nil
		}
		if !more || err != nil {
			return err
		}
	}
}

// ServeOne reads one request, runs h and finishes it. more reports whether
// the web server wants the connection kept for another request; a worker
// that is stopping, or has served its max_requests, closes it instead.
// When more is false, close the connection at once: the answer's tail may
// be waiting for the FIN (LastWriter).
// The peer closing the connection before a request is a clean end, but no
// request was served: false, io.EOF.
func (c *Conn) ServeOne(h Handler) (more bool, err error) {
	req, err := c.ReadRequest()
	if err != nil {
		return false, err
	}
	w := c.Response()
	status := run(h, w, req)
	if err := c.Finish(status); err != nil {
		return false, err
	}
	return req.KeepConn, nil
}

// run calls the handler and turns a panic into a 500, returning the
// application status for END_REQUEST (255 after a panic, as PHP exits
// with after a fatal error).
func run(h Handler, w *Response, r *Request) (status uint32) {
	defer func() {
		if p := recover(); p != nil {
			w.WriteHeader(500)
			w.Log("script panicked: %v\n%s", p, debug.Stack())
			status = 255
		}
	}()
	h.ServeFastCGI(w, r)
	return 0
}
