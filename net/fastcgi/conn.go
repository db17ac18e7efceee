package fastcgi

import (
	"fmt"
	"io"
	"strconv"
)

// Config holds the limits and answers of the server side of a connection.
// The zero value is usable: zero fields take the defaults below.
type Config struct {
	// MaxParams bounds the bytes of one request's PARAMS stream (default 64 KiB):
	// the params are held in memory until the stream ends.
	MaxParams int
	// MaxStdin bounds one request's body (default 8 MiB, php's post_max_size):
	// the body is held in memory for the script.
	MaxStdin int
	// MaxConns and MaxReqs are what GET_VALUES answers for FCGI_MAX_CONNS and
	// FCGI_MAX_REQS (default 1: a blocking worker serves one of each).
	MaxConns, MaxReqs int
	// Trace, when set, sees every record read (in) or written (!in): the
	// chapters print them. content aliases a buffer; copy what you keep.
	Trace func(in bool, h Header, content []byte)
	// Buffer is the starting size of the read and the write buffer
	// (default 16 KiB: a typical request and page in one system call
	// each). Both grow as a connection needs; a server holding thousands of
	// connections at once, as a coroutine worker does, starts them small.
	Buffer int
	// Buffers, when set, lends the Conn its read and write buffers only
	// while it reads a request or writes a response (see Buffers). It
	// serves the Conns of one thread.
	Buffers *Buffers
}

// Defaults for Config.
const (
	DefaultMaxParams = 64 << 10
	DefaultMaxStdin  = 8 << 20
	DefaultBuffer    = 16 << 10
)

// stage is where a connection is in its current request.
type stage uint8

const (
	stageIdle    stage = iota // waiting for BEGIN_REQUEST
	stageParams               // reading the PARAMS stream
	stageStdin                // reading the STDIN stream
	stageRunning              // the request is complete; the script runs
)

var stageNames = [...]string{"before BEGIN_REQUEST", "before its params stream ended", "while reading its body", "after its body ended"}

func (s stage) String() string { return stageNames[s] }

// Conn is the server side of one FastCGI connection: it assembles requests
// from records however the bytes arrive (one byte per read or many records
// per read), answers management records, and frames the response.
//
// A Conn is not safe for concurrent use: one worker (or one coroutine) owns
// it. Reset lets the worker reuse a Conn, and its buffers, for the next
// connection.
type Conn struct {
	rw   io.ReadWriter
	peer string
	cfg  Config
	// waiter is rw when it is a Waiter and cfg.Buffers is set: such a Conn
	// waits for bytes with its read buffer given back (fillLent).
	waiter Waiter

	// in holds bytes read but not yet consumed: in[r:]. It grows to the largest
	// record seen (at most 65535+255+8 bytes) and is then reused.
	in []byte
	r  int
	// out holds framed records not yet written, so that a small response
	// leaves in one write. open is where the STDOUT record being filled
	// starts in out, or -1.
	out  []byte
	open int

	stage  stage
	req    Request
	resp   Response
	pairs  []pair // decoded params, reused
	params []byte // the raw PARAMS stream, reused
	stdin  []byte // the raw STDIN stream, reused

	// err is an error met while polling during a script (Request.Aborted):
	// reported when the request finishes.
	err error
}

// NewConn returns the server side of a connection. peer names the other end
// in errors ("127.0.0.1:51012").
func NewConn(rw io.ReadWriter, peer string, cfg Config) *Conn {
	if cfg.MaxParams <= 0 {
		cfg.MaxParams = DefaultMaxParams
	}
	if cfg.MaxStdin <= 0 {
		cfg.MaxStdin = DefaultMaxStdin
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 1
	}
	if cfg.MaxReqs <= 0 {
		cfg.MaxReqs = 1
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = DefaultBuffer
	}
	c := &Conn{cfg: cfg}
	if cfg.Buffers == nil {
		c.in, c.out = make([]byte, 0, cfg.Buffer), make([]byte, 0, cfg.Buffer)
	}
	c.Reset(rw, peer)
	return c
}

// keepStdin is the largest request body buffer Reset keeps: one grown by
// an upload (up to MaxStdin) is dropped rather than held by a spare Conn
// for ever.
const keepStdin = 64 << 10

// Reset makes c serve a new connection, keeping its buffers.
func (c *Conn) Reset(rw io.ReadWriter, peer string) {
	c.rw, c.peer = rw, peer
	c.waiter = nil
	if w, ok := rw.(Waiter); ok && c.cfg.Buffers != nil {
		c.waiter = w
	}
	if cap(c.stdin) > keepStdin {
		c.stdin = nil
	}
	c.in, c.r = c.in[:0], 0
	c.out, c.open = c.out[:0], -1
	c.lendBackIn()
	c.lendBackOut()
	c.stage, c.err = stageIdle, nil
	c.req = Request{c: c}
	c.resp = Response{c: c, header: c.resp.header[:0]}
}

// Peer returns the name given to NewConn or Reset.
func (c *Conn) Peer() string { return c.peer }

func (c *Conn) protoErr(err error, format string, args ...any) error {
	return &ProtocolError{Peer: c.peer, What: fmt.Sprintf(format, args...), Err: err}
}

// ReadRequest reads records until one request is complete (BEGIN_REQUEST,
// the PARAMS stream, the STDIN stream) and returns it. Management records,
// requests for an unknown role and attempts to multiplex are answered on the
// way. It returns io.EOF when the peer closed the connection between
// requests, a *ProtocolError for malformed input and a *LimitError for a
// request over the limits. The Request is valid until the next call.
func (c *Conn) ReadRequest() (*Request, error) {
	c.req = Request{c: c}
	c.stage = stageIdle
	c.params, c.stdin, c.pairs = c.params[:0], c.stdin[:0], c.pairs[:0]
	for {
		rec, err := c.readRecord()
		if err != nil {
			return nil, err
		}
		if err := c.handle(rec); err != nil {
			if err == io.EOF { // the request ended early and the peer wants the connection closed
				c.flush()
			}
			return nil, err
		}
		if len(c.out) > 0 { // management answers go out before we wait again
			if err := c.flush(); err != nil {
				return nil, err
			}
		}
		if c.stage == stageRunning {
			c.lendBackIn() // not needed while the script runs
			return &c.req, nil
		}
	}
}

// readRecord blocks until a whole record is buffered and consumes it.
func (c *Conn) readRecord() (Record, error) {
	for {
		if rec, ok, err := c.buffered(); ok || err != nil {
			return rec, err
		}
		if err := c.fill(); err != nil {
			return Record{}, err
		}
	}
}

// buffered returns the next record if all of it is in c.in.
func (c *Conn) buffered() (Record, bool, error) {
	b := c.in[c.r:]
	if len(b) < HeaderLen {
		return Record{}, false, nil
	}
	h := ParseHeader(b)
	if h.Version != Version1 {
		return Record{}, false, c.protoErr(nil, "version %d, want %d", h.Version, Version1)
	}
	n := HeaderLen + int(h.ContentLength) + int(h.PaddingLength)
	if len(b) < n {
		return Record{}, false, nil
	}
	c.r += n
	rec := Record{Header: h, Content: b[HeaderLen : HeaderLen+int(h.ContentLength)]}
	if c.cfg.Trace != nil {
		c.cfg.Trace(true, h, rec.Content)
	}
	return rec, true, nil
}

// fill reads more bytes into c.in, first making room by moving the
// unconsumed tail to the front (the previous record's content is no longer
// referenced once the next one is asked for).
func (c *Conn) fill() error {
	if c.r > 0 {
		c.in = c.in[:copy(c.in, c.in[c.r:])]
		c.r = 0
	}
	if c.waiter != nil {
		return c.fillLent()
	}
	c.room()
	n, err := c.rw.Read(c.in[len(c.in):cap(c.in)])
	c.in = c.in[:len(c.in)+n]
	if n > 0 {
		return nil
	}
	if err == nil {
		return nil // a Reader may return 0, nil: read again
	}
	return c.readErr(err)
}

// room makes sure c.in has room to read into: a borrowed buffer, or a
// larger one for a record that does not fit.
func (c *Conn) room() {
	c.borrow()
	if len(c.in) == cap(c.in) {
		grown := make([]byte, len(c.in), 2*cap(c.in)+HeaderLen)
		copy(grown, c.in)
		c.in = grown
	}
}

// fillLent is fill on a Waiter with Buffers: read what has arrived, and
// when nothing has, wait with the buffer given back, unless it holds part
// of a record.
func (c *Conn) fillLent() error {
	for {
		c.room()
		n, err := c.waiter.ReadNow(c.in[len(c.in):cap(c.in)])
		c.in = c.in[:len(c.in)+n]
		if n > 0 {
			return nil
		}
		if err != nil {
			return c.readErr(err)
		}
		c.lendBackIn()
		if err := c.waiter.WaitReadable(); err != nil {
			return err
		}
	}
}

// readErr is what a read's error means where the connection stands.
func (c *Conn) readErr(err error) error {
	if err != io.EOF {
		return err
	}
	switch {
	case len(c.in) > 0:
		return c.protoErr(io.ErrUnexpectedEOF, "truncated record: connection closed after %d bytes of it", len(c.in))
	case c.stage == stageParams || c.stage == stageStdin:
		return c.protoErr(io.ErrUnexpectedEOF, "connection closed inside request %d", c.req.ID)
	}
	return io.EOF
}

// handle applies one record to the connection's state: the single switch
// over record types, each case with the rule of the spec it follows.
func (c *Conn) handle(rec Record) error {
	id := rec.RequestID
	// Application records carry the id of their request; 0 is reserved for
	// management records (section 3.3).
	if id == 0 && rec.Type <= TypeData {
		return c.protoErr(nil, "%s with request id 0", rec.Type)
	}
	switch rec.Type {
	case TypeBeginRequest:
		return c.begin(rec)
	case TypeAbortRequest:
		// The spec says to ignore unknown request ids; for ours, the
		// application answers with END_REQUEST (section 5.4).
		if id != c.req.ID || c.stage == stageIdle {
			return nil
		}
		c.req.aborted = true
		if c.stage != stageRunning { // the script never ran: end it here
			c.wbuf()
			c.out = AppendEndRequest(c.out, id, 0, StatusRequestComplete)
			c.trace(TypeEndRequest, id, 8)
			if !c.req.KeepConn {
				return io.EOF
			}
			c.req, c.stage = Request{c: c}, stageIdle
			c.params, c.stdin = c.params[:0], c.stdin[:0]
		}
		return nil
	case TypeParams:
		if id != c.req.ID || c.stage == stageIdle {
			return nil // The spec says to ignore unknown request ids.
		}
		if c.stage != stageParams {
			return c.protoErr(nil, "PARAMS for request %d after its params stream ended", id)
		}
		if len(rec.Content) == 0 { // an empty record ends the stream
			pairs, err := decodeParams(c.params, c.pairs[:0])
			if err != nil {
				return c.protoErr(err, "request %d: %v", id, err)
			}
			c.pairs, c.req.Params = pairs, Params{raw: c.params, pairs: pairs}
			c.stage = stageStdin
			return nil
		}
		if len(c.params)+len(rec.Content) > c.cfg.MaxParams {
			return &LimitError{Peer: c.peer, What: "params", Limit: c.cfg.MaxParams}
		}
		c.params = append(c.params, rec.Content...)
		return nil
	case TypeStdin:
		if id != c.req.ID || c.stage == stageIdle {
			return nil
		}
		if c.stage != stageStdin {
			return c.protoErr(nil, "STDIN for request %d %s", id, c.stage)
		}
		if len(rec.Content) == 0 {
			c.req.Stdin = c.stdin
			c.stage = stageRunning
			return nil
		}
		if len(c.stdin)+len(rec.Content) > c.cfg.MaxStdin {
			return &LimitError{Peer: c.peer, What: "stdin", Limit: c.cfg.MaxStdin}
		}
		c.stdin = append(c.stdin, rec.Content...)
		return nil
	case TypeData:
		// DATA is for the Filter role only (section 6.4); a Responder ignores it.
		return nil
	case TypeGetValues:
		if id != 0 {
			return c.protoErr(nil, "GET_VALUES with request id %d, want 0", id)
		}
		return c.getValues(rec.Content)
	case TypeEndRequest, TypeStdout, TypeStderr, TypeGetValuesResult, TypeUnknownType:
		return c.protoErr(nil, "%s sent to the application", rec.Type)
	}
	// An unknown management record is answered with UNKNOWN_TYPE (section 4.2).
	if id != 0 {
		return c.protoErr(nil, "unknown record type %d for request %d", uint8(rec.Type), id)
	}
	body := [8]byte{byte(rec.Type)}
	c.wbuf()
	c.out = AppendRecord(c.out, TypeUnknownType, 0, body[:])
	c.trace(TypeUnknownType, 0, 8)
	return nil
}

// begin handles BEGIN_REQUEST (section 5.1).
func (c *Conn) begin(rec Record) error {
	id := rec.RequestID
	if len(rec.Content) < 8 {
		return c.protoErr(nil, "BEGIN_REQUEST body of %d bytes, want 8", len(rec.Content))
	}
	if c.stage != stageIdle {
		if id == c.req.ID {
			return c.protoErr(nil, "second BEGIN_REQUEST for request %d", id)
		}
		// One request at a time on a connection: a second one is refused
		// (section 5.5, FCGI_CANT_MPX_CONN) and its records are then ignored.
		c.wbuf()
		c.out = AppendEndRequest(c.out, id, 0, StatusCantMpxConn)
		c.trace(TypeEndRequest, id, 8)
		return nil
	}
	role := Role(rec.Content[0])<<8 | Role(rec.Content[1])
	keep := rec.Content[2]&FlagKeepConn != 0
	if role != RoleResponder {
		c.wbuf()
		c.out = AppendEndRequest(c.out, id, 0, StatusUnknownRole)
		c.trace(TypeEndRequest, id, 8)
		if !keep {
			return io.EOF
		}
		return nil
	}
	c.req.ID = id
	c.req.KeepConn = keep
	c.stage = stageParams
	return nil
}

// getValues answers GET_VALUES (section 4.1) with the variables it knows;
// the spec says to leave out the ones it does not.
func (c *Conn) getValues(content []byte) error {
	asked, err := decodeParams(content, nil)
	if err != nil {
		return c.protoErr(err, "GET_VALUES: %v", err)
	}
	var result []byte
	for _, p := range asked {
		switch string(p.name(content)) {
		case MaxConns:
			result = AppendParam(result, MaxConns, strconv.Itoa(c.cfg.MaxConns))
		case MaxReqs:
			result = AppendParam(result, MaxReqs, strconv.Itoa(c.cfg.MaxReqs))
		case MpxsConns:
			result = AppendParam(result, MpxsConns, "0") // never multiplexed
		}
	}
	if len(result) > MaxContent {
		return c.protoErr(nil, "GET_VALUES asks for too much")
	}
	c.wbuf()
	c.out = AppendRecord(c.out, TypeGetValuesResult, 0, result)
	c.trace(TypeGetValuesResult, 0, len(result))
	return nil
}

// trace reports a record just appended to c.out.
func (c *Conn) trace(t RecType, id uint16, n int) {
	if c.cfg.Trace != nil {
		content := c.out[len(c.out)-n-padding(n) : len(c.out)-padding(n)]
		c.cfg.Trace(false, Header{Version: Version1, Type: t, RequestID: id, ContentLength: uint16(n), PaddingLength: uint8(padding(n))}, content)
	}
}

// LastWriter is a connection that can send its last bytes so that the
// close after them costs no packet of its own. On TCP a request without
// FCGI_KEEP_CONN ends in two segments when the answer is written and then
// the connection closed: the answer, and the FIN. Held back with
// MSG_MORE, the answer's last segment leaves with the FIN instead, and
// the web server acknowledges both with its own FIN: two packets fewer
// per request for both ends' kernels (php-fpm writes, then shuts down).
// Finish uses it for such requests; the caller must then close the
// connection at once (Serve's contract), or the answer's tail waits up to
// the kernel's 200 ms. The raw sockets (net/sock, coro) implement it.
type LastWriter interface {
	WriteLast(p []byte) (int, error)
}

// flush writes every framed record in c.out.
func (c *Conn) flush() error { return c.send(false) }

// send writes every framed record in c.out; last says that the connection
// is closed right after (see LastWriter).
func (c *Conn) send(last bool) error {
	if len(c.out) == 0 {
		return nil
	}
	var err error
	if lw, ok := c.rw.(LastWriter); last && ok {
		_, err = lw.WriteLast(c.out)
	} else {
		_, err = c.rw.Write(c.out)
	}
	c.out = c.out[:0]
	c.lendBackOut()
	return err
}
