package fastcgi

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Client is the web server's side of a FastCGI connection, what nginx does
// with fastcgi_pass: it sends requests and reads their responses. Tests,
// benchmarks and chapters use it where nginx is not wanted in the middle.
// A Client runs one request at a time.
type Client struct {
	rw  io.ReadWriter
	buf []byte // record read buffer, reused
	out []byte // request being framed, reused
}

// NewClient returns a client on an open connection.
func NewClient(rw io.ReadWriter) *Client { return &Client{rw: rw} }

// Dial connects to a FastCGI server at addr: host:port, or a unix socket
// path (any address with a '/').
func Dial(addr string, timeout time.Duration) (*Client, error) {
	network := "tcp"
	if strings.Contains(addr, "/") {
		network = "unix"
	}
	conn, err := net.DialTimeout(network, addr, timeout)
	if err != nil {
		return nil, err
	}
	return NewClient(conn), nil
}

// Close closes the connection if it can be closed.
func (c *Client) Close() error {
	if cl, ok := c.rw.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}

// Call is one request to send.
type Call struct {
	// ID is the request id (0 means 1, what nginx uses).
	ID uint16
	// Role is the FastCGI role (0 means Responder).
	Role Role
	// KeepConn sets FCGI_KEEP_CONN so the server keeps the connection open.
	KeepConn bool
	// Params is the CGI environment, sent sorted by name.
	Params map[string]string
	// Stdin is the request body.
	Stdin []byte
}

// Reply is what came back for one request.
type Reply struct {
	Stdout         []byte // the CGI output: headers, blank line, body
	Stderr         []byte // what the script logged
	AppStatus      uint32 // END_REQUEST's appStatus: the script's exit status
	ProtocolStatus uint8  // END_REQUEST's protocolStatus: StatusRequestComplete, ...
}

// Do sends call and collects the whole reply.
func (c *Client) Do(call Call) (*Reply, error) {
	var out, errs bytes.Buffer
	r := &Reply{}
	var err error
	r.AppStatus, r.ProtocolStatus, err = c.Stream(call, &out, &errs)
	r.Stdout, r.Stderr = out.Bytes(), errs.Bytes()
	return r, err
}

// Send frames and writes the request: BEGIN_REQUEST, the PARAMS stream, the
// STDIN stream, in one write.
func (c *Client) Send(call Call) error {
	id, role := call.ID, call.Role
	if id == 0 {
		id = 1
	}
	if role == 0 {
		role = RoleResponder
	}
	var flags uint8
	if call.KeepConn {
		flags = FlagKeepConn
	}
	names := make([]string, 0, len(call.Params))
	for name := range call.Params {
		names = append(names, name)
	}
	slices.Sort(names)
	var params []byte
	for _, name := range names {
		params = AppendParam(params, name, call.Params[name])
	}
	c.out = AppendBeginRequest(c.out[:0], id, role, flags)
	c.out = AppendStream(c.out, TypeParams, id, params)
	c.out = AppendStream(c.out, TypeStdin, id, call.Stdin)
	_, err := c.rw.Write(c.out)
	return err
}

// Stream sends call and copies STDOUT and STDERR content to stdout and
// stderr as records arrive, until END_REQUEST for the call's id; records
// for other ids and management records are skipped.
func (c *Client) Stream(call Call, stdout, stderr io.Writer) (appStatus uint32, protocolStatus uint8, err error) {
	if err := c.Send(call); err != nil {
		return 0, 0, err
	}
	id := call.ID
	if id == 0 {
		id = 1
	}
	for {
		var rec Record
		rec, c.buf, err = ReadRecord(c.rw, c.buf)
		if err == io.EOF {
			return 0, 0, fmt.Errorf("fastcgi: connection closed before END_REQUEST: %w", io.ErrUnexpectedEOF)
		}
		if err != nil {
			return 0, 0, err
		}
		if rec.RequestID != id {
			continue
		}
		switch rec.Type {
		case TypeStdout:
			_, err = stdout.Write(rec.Content)
		case TypeStderr:
			_, err = stderr.Write(rec.Content)
		case TypeEndRequest:
			if len(rec.Content) < 8 {
				return 0, 0, fmt.Errorf("fastcgi: END_REQUEST body of %d bytes, want 8", len(rec.Content))
			}
			b := rec.Content
			return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), b[4], nil
		}
		if err != nil {
			return 0, 0, err
		}
	}
}

// GetValues asks the server for configuration variables (FCGI_MAX_CONNS,
// FCGI_MAX_REQS, FCGI_MPXS_CONNS) with a GET_VALUES management record.
func (c *Client) GetValues(names ...string) (map[string]string, error) {
	var q []byte
	for _, n := range names {
		q = AppendParam(q, n, "")
	}
	if _, err := c.rw.Write(AppendRecord(nil, TypeGetValues, 0, q)); err != nil {
		return nil, err
	}
	for {
		var rec Record
		var err error
		rec, c.buf, err = ReadRecord(c.rw, c.buf)
		if err != nil {
			return nil, err
		}
		if rec.RequestID == 0 && rec.Type == TypeGetValuesResult {
			return DecodeParams(rec.Content)
		}
	}
}

// CGIResponse is CGI output split into status, headers and body: what nginx
// turns into an HTTP response.
type CGIResponse struct {
	Status int                  // from the Status: header, 200 when absent
	Header textproto.MIMEHeader // every header but Status
	Body   []byte
}

// ParseCGI splits a script's STDOUT into a CGIResponse:
//
//	Status: 404 Not Found\r\n
//	Content-Type: text/plain\r\n
//	\r\n
//	File not found.
func ParseCGI(stdout []byte) (*CGIResponse, error) {
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(stdout)))
	h, err := r.ReadMIMEHeader()
	if err != nil {
		return nil, fmt.Errorf("fastcgi: CGI header: %w", err)
	}
	resp := &CGIResponse{Status: 200, Header: h}
	if s := h.Get("Status"); s != "" {
		code, _, _ := strings.Cut(s, " ")
		if resp.Status, err = strconv.Atoi(code); err != nil {
			return nil, fmt.Errorf("fastcgi: CGI Status %q: %w", s, err)
		}
		h.Del("Status")
	}
	resp.Body, _ = io.ReadAll(r.R)
	return resp, nil
}
