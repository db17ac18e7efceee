package coro

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// DefaultHTTPTimeout bounds a request when HTTPClient.Timeout is 0: a
// coroutine must not wait for ever on a peer that never answers.
const DefaultHTTPTimeout = 30 * time.Second

// DefaultMaxIdlePerHost is the pool size when HTTPClient.MaxIdlePerHost is
// 0: net/http's default.
const DefaultMaxIdlePerHost = 2

// HTTPClient is an HTTP/1.1 client for coroutines, plain http only: a
// request parks its coroutine, not the thread, on connect, write and read,
// so one scheduler thread has thousands of requests in flight. It keeps
// connections alive in a pool per host:port. The parsing of the response
// (status line, headers, Content-Length or chunked body, trailers) is
// net/http's, on our bytes; dialing, pooling and waiting are ours.
//
// An HTTPClient belongs to one scheduler. Call CloseIdle before closing
// the Poller: pooled connections hold fds.
type HTTPClient struct {
	// Poller is the scheduler's Idler, where connections are registered.
	Poller *Poller
	// Timeout bounds a whole request: connect, write, and read to the
	// last byte of the body. 0 means DefaultHTTPTimeout.
	Timeout time.Duration
	// MaxIdlePerHost is how many connections are kept per host:port once
	// their response is read; more are closed. 0 means
	// DefaultMaxIdlePerHost, negative keeps none.
	MaxIdlePerHost int
	// Dials counts connections opened, Reuses requests sent on a kept
	// connection, and Retries GETs sent again because a kept connection
	// turned out to be closed: how well the pool works.
	Dials, Reuses, Retries int64
	// idle holds the kept connections by host:port, most recent last.
	idle map[string][]*httpConn
	// readers are read buffers lent to the responses being read: a
	// request waits for its answer without one (Conn.WaitReadable), so
	// thousands waiting on a slow upstream hold none.
	readers []*bufio.Reader
}

// httpConn is one connection to a server.
type httpConn struct {
	conn *Conn
	host string
}

// HTTPResponse is a complete response: the body is read to its end, so
// that the connection could go back to the pool.
type HTTPResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// HTTPStatusError is what Get and Post return, with the body, for a status
// outside 2xx, as PHP's file_get_contents fails on one.
type HTTPStatusError struct {
	Method, URL string
	Status      int
}

func (e *HTTPStatusError) Error() string {
	return fmt.Sprintf("coro: %s %s: status %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
}

// Get fetches url and returns the body, or an error: a transport error, or
// an *HTTPStatusError (with the body) for a status outside 2xx.
func (h *HTTPClient) Get(c *Co, url string) ([]byte, error) {
	r, err := h.Do(c, http.MethodGet, url, "", nil)
	return bodyOf(r, err, http.MethodGet, url)
}

// Post sends body with the given Content-Type, as Get otherwise.
func (h *HTTPClient) Post(c *Co, url, contentType string, body []byte) ([]byte, error) {
	r, err := h.Do(c, http.MethodPost, url, contentType, body)
	return bodyOf(r, err, http.MethodPost, url)
}

func bodyOf(r *HTTPResponse, err error, method, url string) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	if r.Status/100 != 2 {
		return r.Body, &HTTPStatusError{Method: method, URL: url, Status: r.Status}
	}
	return r.Body, nil
}

// ANCHOR: do
// Do sends one request and reads the whole response. A GET that fails on
// a kept connection before any byte of the answer came back is sent once
// more on a fresh one: the server may have closed the connection while it
// sat in the pool (its keep-alive timeout), which the client learns only
// by using it. A POST is never sent twice.
func (h *HTTPClient) Do(c *Co, method, rawURL, contentType string, body []byte) (*HTTPResponse, error) {
	fail := func(err error) (*HTTPResponse, error) {
		return nil, &requestError{method: method, url: rawURL, err: err}
	}
	host, req, err := prepare(method, rawURL, contentType, body)
	if err != nil {
		return fail(err)
	}
	deadline := time.Now().Add(h.timeout())
	for attempt := 0; ; attempt++ {
		hc, reused, err := h.conn(c, host, deadline)
		if err != nil {
			return fail(err)
		}
		resp, keep, answered, err := h.roundTrip(hc, req, method, deadline)
		if err == nil {
			h.release(hc, keep)
			return resp, nil
		}
		hc.conn.Close()
		if !reused || answered || attempt > 0 || method != http.MethodGet || errors.Is(err, ErrTimeout) {
			return fail(err)
		}
		h.Retries++
	}
}

// ANCHOR_END: do

// requestError is Do's error: "coro: GET http://...: what went wrong". A
// type rather than fmt.Errorf at each return, whose arguments would take
// stack space in Do's frame, held by every request waiting for an answer.
type requestError struct {
	method, url string
	err         error
}

func (e *requestError) Error() string {
	return "coro: " + e.method + " " + e.url + ": " + e.err.Error()
}

func (e *requestError) Unwrap() error { return e.err }

// prepare parses rawURL and frames the request for host:port. It is a
// function of its own, like readResponse, so that the stack space their
// work takes is not held by every coroutine waiting for its answer: the
// stack a waiting request holds is most of what it costs.
func prepare(method, rawURL, contentType string, body []byte) (host string, req []byte, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", nil, err
	}
	if u.Scheme != "http" {
		return "", nil, fmt.Errorf("scheme %q: only http is supported", u.Scheme)
	}
	host = u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	return host, request(method, u, contentType, body), nil
}

// roundTrip writes the request, waits for the answer and reads it.
// answered tells whether any byte of a response came back before an error.
func (h *HTTPClient) roundTrip(hc *httpConn, req []byte, method string, deadline time.Time) (resp *HTTPResponse, keep, answered bool, err error) {
	hc.conn.SetDeadline(deadline)
	if _, err := hc.conn.Write(req); err != nil {
		return nil, false, false, err
	}
	if err := hc.conn.WaitReadable(); err != nil {
		return nil, false, false, err
	}
	return h.readResponse(hc, method, deadline)
}

// readResponse reads a whole response into a lent buffer.
func (h *HTTPClient) readResponse(hc *httpConn, method string, deadline time.Time) (resp *HTTPResponse, keep, answered bool, err error) {
	br := h.reader(hc.conn)
	defer h.putReader(br)
	if _, err := br.Peek(1); err != nil {
		return nil, false, false, err
	}
	r, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		return nil, false, true, timedOut(err, deadline)
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, false, true, timedOut(err, deadline)
	}
	// Bytes beyond the response (a server that sent what nobody asked
	// for) would be read as the next one's: such a connection is closed.
	keep = !r.Close && br.Buffered() == 0
	return &HTTPResponse{Status: r.StatusCode, Header: r.Header, Body: b}, keep, true, nil
}

// reader lends a read buffer for conn's response.
func (h *HTTPClient) reader(conn *Conn) *bufio.Reader {
	n := len(h.readers)
	if n == 0 {
		return bufio.NewReaderSize(conn, 4096)
	}
	br := h.readers[n-1]
	h.readers = h.readers[:n-1]
	br.Reset(conn)
	return br
}

// putReader takes a read buffer back.
func (h *HTTPClient) putReader(br *bufio.Reader) {
	br.Reset(nil)
	h.readers = append(h.readers, br)
}

// timedOut makes sure a read that failed at the deadline says ErrTimeout,
// whatever net/http's parser made of the error on its way up.
func timedOut(err error, deadline time.Time) error {
	if !errors.Is(err, ErrTimeout) && !time.Now().Before(deadline) {
		return fmt.Errorf("%w (%v)", ErrTimeout, err)
	}
	return err
}

// request is the request's bytes: the request line, the headers every
// HTTP/1.1 request needs, and the body.
//
//	GET /slow?ms=1000 HTTP/1.1\r\n
//	Host: 127.0.0.1:8080\r\n
//	User-Agent: corofpm-coro\r\n
//	\r\n
func request(method string, u *url.URL, contentType string, body []byte) []byte {
	b := make([]byte, 0, 128+len(body))
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, u.RequestURI()...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, u.Host...)
	b = append(b, "\r\nUser-Agent: corofpm-coro\r\n"...)
	if body != nil || method == http.MethodPost {
		b = append(b, "Content-Type: "...)
		b = append(b, contentType...)
		b = append(b, "\r\nContent-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	return append(b, body...)
}

// ANCHOR: pool
// conn takes a kept connection to host, or dials one. A kept connection
// the server has closed meanwhile shows an EOF to a read that does not
// wait (ReadNow): it is dropped here rather than failing the request.
func (h *HTTPClient) conn(c *Co, host string, deadline time.Time) (hc *httpConn, reused bool, err error) {
	for pool := h.idle[host]; len(pool) > 0; pool = h.idle[host] {
		hc = pool[len(pool)-1]
		h.idle[host] = pool[:len(pool)-1]
		var probe [1]byte
		if n, err := hc.conn.ReadNow(probe[:]); n == 0 && err == nil {
			h.Reuses++
			return hc, true, nil
		}
		hc.conn.Close() // closed by the server, or it sent what nobody asked for
	}
	conn, err := Dial(c, h.Poller, host, time.Until(deadline))
	if err != nil {
		return nil, false, err
	}
	h.Dials++
	return &httpConn{conn: conn, host: host}, false, nil
}

// release puts a connection whose response was read in full back in the
// pool, unless the server asked to close it or the pool is full.
func (h *HTTPClient) release(hc *httpConn, keep bool) {
	limit := h.MaxIdlePerHost
	if limit == 0 {
		limit = DefaultMaxIdlePerHost
	}
	if !keep || len(h.idle[hc.host]) >= limit {
		hc.conn.Close()
		return
	}
	hc.conn.SetDeadline(time.Time{})
	if h.idle == nil {
		h.idle = map[string][]*httpConn{}
	}
	h.idle[hc.host] = append(h.idle[hc.host], hc)
}

// ANCHOR_END: pool

// Idle is how many connections the pool keeps now.
func (h *HTTPClient) Idle() int {
	n := 0
	for _, pool := range h.idle {
		n += len(pool)
	}
	return n
}

// CloseIdle closes every kept connection.
func (h *HTTPClient) CloseIdle() {
	for host, pool := range h.idle {
		for _, hc := range pool {
			hc.conn.Close()
		}
		delete(h.idle, host)
	}
}

func (h *HTTPClient) timeout() time.Duration {
	if h.Timeout > 0 {
		return h.Timeout
	}
	return DefaultHTTPTimeout
}
