package fastcgi

import (
	"bytes"
	"fmt"
	"strconv"
)

// Request is one assembled request. It aliases its connection's buffers and
// is valid until the next ReadRequest on that connection.
type Request struct {
	// ID is the request id the web server chose (nginx uses 1).
	ID uint16
	// KeepConn is the FCGI_KEEP_CONN flag: the web server will send more
	// requests on this connection, so it must not be closed after this one.
	KeepConn bool
	// Params is the CGI environment (SCRIPT_NAME, REQUEST_METHOD, ...).
	Params Params
	// Stdin is the request body.
	Stdin []byte

	c       *Conn
	aborted bool
}

// Aborted reports whether the web server gave up on this request: it sent
// ABORT_REQUEST or closed the connection. It first reads, without blocking,
// whatever the peer sent since the request was assembled, so a long script can
// ask it between steps and stop early. On a connection that cannot be polled
// (see Conn.Poll) it reports only what was already read.
func (r *Request) Aborted() bool {
	if !r.aborted && r.c != nil && r.c.stage == stageRunning {
		r.c.Poll()
	}
	return r.aborted
}

// Response writes a request's answer: CGI headers, a blank line and the body
// in STDOUT records, log lines in STDERR records, then END_REQUEST (Finish).
// Output is framed straight into the connection's buffer and written when it
// passes flushAt bytes or the request finishes.
type Response struct {
	c *Conn
	// status is the HTTP status sent in the Status: header (0 means 200).
	status int
	// header holds "Name: value\r\n" lines until the first body byte.
	header []byte
	// wroteHeader is set once the CGI header block is in the output.
	wroteHeader bool
	// stderr is set once a STDERR record was sent: the stream then needs its
	// closing empty record.
	stderr bool
}

// flushAt is how much framed output is held before it is written: enough
// for a typical page to leave in one write.
const flushAt = 32 << 10

// Response returns the writer for the request just read. It is reused from
// request to request.
func (c *Conn) Response() *Response {
	c.resp = Response{c: c, header: c.resp.header[:0]}
	return &c.resp
}

// SetHeader adds a CGI response header (Content-Type, Location, ...). Headers
// set after the first body byte are ignored, as in PHP.
func (w *Response) SetHeader(name, value string) {
	if w.wroteHeader {
		return
	}
	w.header = append(w.header, name...)
	w.header = append(w.header, ": "...)
	w.header = append(w.header, value...)
	w.header = append(w.header, "\r\n"...)
}

// WriteHeader sets the HTTP status, sent as the CGI "Status:" header.
func (w *Response) WriteHeader(status int) {
	if !w.wroteHeader {
		w.status = status
	}
}

// Status is the HTTP status the response has, or will have: 200 unless
// WriteHeader set another (for access logs and the status page).
func (w *Response) Status() int {
	if w.status == 0 {
		return 200
	}
	return w.status
}

// Write appends body bytes; the header block goes first.
func (w *Response) Write(p []byte) (int, error) {
	w.writeHeader()
	appendStdout(w.c, p)
	if len(w.c.out) >= flushAt {
		return len(p), w.c.flushStdout()
	}
	return len(p), nil
}

// WriteString is Write for a string, without a conversion.
func (w *Response) WriteString(s string) (int, error) {
	w.writeHeader()
	appendStdout(w.c, s)
	if len(w.c.out) >= flushAt {
		return len(s), w.c.flushStdout()
	}
	return len(s), nil
}

// writeHeader puts the header block into STDOUT once, the way php-fpm
// does: Status when it is not 200, the handler's headers, Content-Type
// defaulting to text/html, and the blank line.
func (w *Response) writeHeader() {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	c := w.c
	if w.status != 0 && w.status != 200 {
		appendStdout(c, "Status: ")
		appendStdout(c, strconv.Itoa(w.status))
		if text := statusText[w.status]; text != "" {
			appendStdout(c, " ")
			appendStdout(c, text)
		}
		appendStdout(c, "\r\n")
	}
	appendStdout(c, w.header)
	if !hasHeader(w.header, "content-type") {
		appendStdout(c, "Content-Type: text/html; charset=UTF-8\r\n")
	}
	appendStdout(c, "\r\n")
}

// hasHeader reports whether a header block has a line named name.
func hasHeader(block []byte, name string) bool {
	for len(block) > 0 {
		line := block
		if i := bytes.IndexByte(block, '\n'); i >= 0 {
			line, block = block[:i], block[i+1:]
		} else {
			block = nil
		}
		if len(line) > len(name) && line[len(name)] == ':' && bytes.EqualFold(line[:len(name)], []byte(name)) {
			return true
		}
	}
	return false
}

// Log sends a line on the STDERR stream: nginx writes it to its error log
// ("FastCGI sent in stderr: ..."), as php-fpm does with PHP warnings.
func (w *Response) Log(format string, args ...any) {
	c := w.c
	c.closeStdout()
	msg := fmt.Sprintf(format, args...)
	c.wbuf()
	for len(msg) > 0 {
		n := min(len(msg), MaxContent)
		c.out = AppendRecord(c.out, TypeStderr, c.req.ID, []byte(msg[:n]))
		c.trace(TypeStderr, c.req.ID, n)
		msg = msg[n:]
	}
	w.stderr = true
}

// Flush writes the output buffered so far, so that the web server can send
// it on before the script ends.
func (w *Response) Flush() error {
	w.writeHeader()
	return w.c.flushStdout()
}

// Finish ends the current request: the header block if the script wrote
// nothing, the end of the STDOUT (and STDERR) streams, END_REQUEST with
// appStatus (the script's exit status), then one write: with WriteLast when
// the web server did not ask to keep the connection (see LastWriter). It
// returns an error if the write failed or if polling during the script met
// malformed input.
func (c *Conn) Finish(appStatus uint32) error {
	w := &c.resp
	w.writeHeader()
	c.closeStdout()
	c.wbuf()
	id := c.req.ID
	c.out = AppendRecord(c.out, TypeStdout, id, nil)
	c.trace(TypeStdout, id, 0)
	if w.stderr {
		c.out = AppendRecord(c.out, TypeStderr, id, nil)
		c.trace(TypeStderr, id, 0)
	}
	c.out = AppendEndRequest(c.out, id, appStatus, StatusRequestComplete)
	c.trace(TypeEndRequest, id, 8)
	c.stage = stageIdle
	if err := c.send(!c.req.KeepConn); err != nil {
		return err
	}
	return c.err
}

// appendStdout adds body bytes to the open STDOUT record, opening one (8
// bytes reserved for its header) and closing full ones as needed.
func appendStdout[T string | []byte](c *Conn, p T) {
	c.wbuf()
	for len(p) > 0 {
		if c.open < 0 {
			c.open = len(c.out)
			c.out = append(c.out, zeros[:HeaderLen]...)
		}
		room := MaxContent - (len(c.out) - c.open - HeaderLen)
		n := min(room, len(p))
		c.out = append(c.out, p[:n]...)
		p = p[n:]
		if n == room {
			c.closeStdout()
		}
	}
}

// closeStdout completes the open STDOUT record: its header and padding.
func (c *Conn) closeStdout() {
	if c.open < 0 {
		return
	}
	n := len(c.out) - c.open - HeaderLen
	p := padding(n)
	id := c.req.ID
	copy(c.out[c.open:], []byte{Version1, byte(TypeStdout), byte(id >> 8), byte(id), byte(n >> 8), byte(n), byte(p), 0})
	c.out = append(c.out, zeros[:p]...)
	c.open = -1
	c.trace(TypeStdout, id, n)
}

func (c *Conn) flushStdout() error {
	c.closeStdout()
	return c.flush()
}

// statusText holds the reason phrases of the statuses scripts here use
// (RFC 9110, section 15).
var statusText = map[int]string{
	200: "OK", 201: "Created", 204: "No Content",
	301: "Moved Permanently", 302: "Found", 304: "Not Modified",
	400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
	413: "Content Too Large", 500: "Internal Server Error", 502: "Bad Gateway",
	503: "Service Unavailable", 504: "Gateway Timeout",
}
