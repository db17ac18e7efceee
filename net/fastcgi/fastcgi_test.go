package fastcgi

import (
	"bytes"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nginxParams is a typical request as nginx's fastcgi_params sends it.
func nginxParams(script string) map[string]string {
	return map[string]string{
		"QUERY_STRING": "", "REQUEST_METHOD": "GET", "CONTENT_TYPE": "", "CONTENT_LENGTH": "",
		"SCRIPT_NAME": script, "REQUEST_URI": script, "DOCUMENT_URI": script,
		"DOCUMENT_ROOT": "/srv/www", "SCRIPT_FILENAME": "/srv/www" + script,
		"SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_SCHEME": "http", "GATEWAY_INTERFACE": "CGI/1.1",
		"SERVER_SOFTWARE": "nginx/1.22.1", "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "51012",
		"SERVER_ADDR": "127.0.0.1", "SERVER_PORT": "8080", "SERVER_NAME": "localhost",
		"REDIRECT_STATUS": "200", "HTTP_HOST": "127.0.0.1:8080", "HTTP_USER_AGENT": "curl/7.88.1",
		"HTTP_ACCEPT": "*/*", "HTTP_ACCEPT_ENCODING": "gzip, deflate, br",
		"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9", "HTTP_CONNECTION": "keep-alive",
		"HTTP_COOKIE": "session=0123456789abcdef", "HTTP_CACHE_CONTROL": "max-age=0",
		"HTTP_UPGRADE_INSECURE_REQUESTS": "1", "HTTP_SEC_FETCH_MODE": "navigate",
		"PATH_INFO": "",
	}
}

// echo answers with the script name, the body and a header.
var echo = HandlerFunc(func(w *Response, r *Request) {
	w.SetHeader("Content-Type", "text/plain")
	w.SetHeader("X-Request-Id", "7")
	w.WriteString("script=" + r.Params.Get("SCRIPT_NAME") + " body=")
	w.Write(r.Stdin)
})

// server serves FastCGI on a loopback port, one connection at a time (a
// blocking worker), and records the error each connection ended with.
type server struct {
	addr string
	mu   sync.Mutex
	errs []error
}

func startServer(t *testing.T, cfg Config, h Handler) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &server{addr: ln.Addr().String()}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c := NewConn(nil, "", cfg)
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			c.Reset(nc, nc.RemoteAddr().String())
			err = c.Serve(h)
			nc.Close()
			s.mu.Lock()
			s.errs = append(s.errs, err)
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return s
}

// lastErr waits for the n-th connection to end and returns its error.
func (s *server) connErr(t *testing.T, n int) error {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		if len(s.errs) >= n {
			err := s.errs[n-1]
			s.mu.Unlock()
			return err
		}
		s.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("connection %d did not end", n)
	return nil
}

func dial(t *testing.T, addr string) *Client {
	t.Helper()
	c, err := Dial(addr, 2*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// get runs one normal request and checks its answer: the proof that a server
// still serves after whatever a test did to it before.
func get(t *testing.T, addr string) {
	t.Helper()
	r, err := dial(t, addr).Do(Call{Params: nginxParams("/hello.php"), Stdin: []byte("hi")})
	require.NoError(t, err)
	resp, err := ParseCGI(r.Stdout)
	require.NoError(t, err)
	assert.Equal(t, 200, resp.Status)
	assert.Equal(t, "script=/hello.php body=hi", string(resp.Body))
}

func TestRecordPaddingAndHeader(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 9, 419, MaxContent} {
		b := AppendRecord(nil, TypeStdout, 258, make([]byte, n))
		assert.Zero(t, len(b)%8, "record with %d bytes of content is 8-byte aligned", n)
		h := ParseHeader(b)
		assert.Equal(t, Header{Version: 1, Type: TypeStdout, RequestID: 258, ContentLength: uint16(n), PaddingLength: uint8(len(b) - HeaderLen - n)}, h)
		rec, _, err := ReadRecord(bytes.NewReader(b), nil)
		require.NoError(t, err)
		assert.Len(t, rec.Content, n)
	}
	// Any padding is accepted on read, up to 255.
	b := []byte{1, 6, 0, 1, 0, 2, 255, 0, 'o', 'k'}
	b = append(b, make([]byte, 255)...)
	rec, _, err := ReadRecord(bytes.NewReader(b), nil)
	require.NoError(t, err)
	assert.Equal(t, "ok", string(rec.Content))
	_, _, err = ReadRecord(bytes.NewReader(b[:20]), nil)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

func TestParamsLengths(t *testing.T) {
	long := strings.Repeat("v", 200) // needs the four-byte length
	b := AppendParam(nil, "SHORT", "x")
	b = AppendParam(b, "LONG", long)
	b = AppendParam(b, strings.Repeat("N", 128), "")
	assert.Equal(t, []byte{5, 1}, b[:2])
	assert.Equal(t, []byte{4, 0x80, 0, 0, 200}, b[8:13])
	m, err := DecodeParams(b)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"SHORT": "x", "LONG": long, strings.Repeat("N", 128): ""}, m)
	for _, bad := range [][]byte{{5}, {0x80, 0}, {3, 1, 'a'}, {0x80, 0, 0, 9, 0}} {
		_, err := DecodeParams(bad)
		assert.ErrorIs(t, err, errParams, "%x", bad)
	}
}

// rw is an in-memory connection: reads come from in, writes go to out.
type rw struct {
	in  io.Reader
	out bytes.Buffer
}

func (c *rw) Read(p []byte) (int, error)  { return c.in.Read(p) }
func (c *rw) Write(p []byte) (int, error) { return c.out.Write(p) }

func TestPartialReadsAndRecordsCrossedByPairs(t *testing.T) {
	var params []byte
	for name, value := range nginxParams("/hello.php") {
		params = AppendParam(params, name, value)
	}
	var wire []byte
	wire = AppendBeginRequest(wire, 1, RoleResponder, FlagKeepConn)
	for i := 0; i < len(params); i += 5 { // 5-byte records: pairs cross records
		wire = AppendRecord(wire, TypeParams, 1, params[i:min(i+5, len(params))])
	}
	wire = AppendRecord(wire, TypeParams, 1, nil)
	wire = AppendStream(wire, TypeStdin, 1, bytes.Repeat([]byte("b"), 70000))

	// The default buffers, and tiny ones that must grow (Config.Buffer).
	for _, cfg := range []Config{{}, {Buffer: 8}} {
		conn := &rw{in: iotest.OneByteReader(bytes.NewReader(wire))}
		c := NewConn(conn, "test", cfg)
		req, err := c.ReadRequest()
		require.NoError(t, err)
		assert.Equal(t, uint16(1), req.ID)
		assert.True(t, req.KeepConn)
		assert.Equal(t, "/hello.php", req.Params.Get("SCRIPT_NAME"))
		assert.Equal(t, len(nginxParams("")), req.Params.Len())
		assert.Len(t, req.Stdin, 70000)
		_, err = c.ReadRequest()
		assert.Equal(t, io.EOF, err)
	}
}

// A Conn reused with Reset serves the next connection with the buffers
// of the last, but lets go of a request body buffer grown by an upload.
func TestResetKeepsBuffersButNotAnUpload(t *testing.T) {
	request := func(body int) []byte {
		wire := AppendBeginRequest(nil, 1, RoleResponder, 0)
		wire = AppendStream(wire, TypeParams, 1, AppendParam(nil, "SCRIPT_NAME", "/a.php"))
		return AppendStream(wire, TypeStdin, 1, bytes.Repeat([]byte("b"), body))
	}
	c := NewConn(nil, "", Config{})
	serve := func(body int) *Request {
		c.Reset(&rw{in: bytes.NewReader(request(body))}, "test")
		req, err := c.ReadRequest()
		require.NoError(t, err)
		require.Len(t, req.Stdin, body)
		return req
	}
	serve(1000)
	params, stdin := cap(c.pairs), cap(c.stdin)
	serve(1000)
	assert.Equal(t, params, cap(c.pairs), "the params' storage is reused")
	assert.Equal(t, stdin, cap(c.stdin), "the body's buffer is reused")
	serve(keepStdin + 1)
	c.Reset(nil, "")
	assert.Zero(t, cap(c.stdin), "an upload's buffer is dropped")
	assert.Equal(t, "/a.php", serve(10).Params.Get("SCRIPT_NAME"))
}

func TestResponseFraming(t *testing.T) {
	wire := AppendBeginRequest(nil, 3, RoleResponder, 0)
	wire = AppendStream(wire, TypeParams, 3, AppendParam(nil, "SCRIPT_NAME", "/big.php"))
	wire = AppendStream(wire, TypeStdin, 3, nil)
	conn := &rw{in: bytes.NewReader(wire)}
	c := NewConn(conn, "test", Config{})
	big := bytes.Repeat([]byte("0123456789"), 20000) // 200,000 bytes: four STDOUT records
	require.NoError(t, c.Serve(HandlerFunc(func(w *Response, r *Request) {
		assert.Equal(t, 200, w.Status(), "200 until told otherwise")
		w.WriteHeader(404)
		w.Log("warning: %s", "just so")
		w.Write(big)
		w.WriteHeader(500) // too late: the header block is out
		assert.Equal(t, 404, w.Status())
	})))
	reply, err := NewClient(&rw{in: &conn.out}).readOnly(3)
	require.NoError(t, err)
	resp, err := ParseCGI(reply.Stdout)
	require.NoError(t, err)
	assert.Equal(t, 404, resp.Status)
	assert.Equal(t, "text/html; charset=UTF-8", resp.Header.Get("Content-Type"))
	assert.Equal(t, big, resp.Body)
	assert.Equal(t, "warning: just so", string(reply.Stderr))
	// Every record written is aligned, and none exceeds 65535 bytes.
	out := conn.out.Bytes()
	for len(out) > 0 {
		require.Zero(t, len(out)%8)
		h := ParseHeader(out)
		out = out[HeaderLen+int(h.ContentLength)+int(h.PaddingLength):]
	}
}

// readOnly reads the reply to request id without sending anything.
func (c *Client) readOnly(id uint16) (*Reply, error) {
	var out, errs bytes.Buffer
	r := &Reply{}
	for {
		rec, buf, err := ReadRecord(c.rw, c.buf)
		c.buf = buf
		if err != nil {
			return r, err
		}
		switch {
		case rec.RequestID != id:
		case rec.Type == TypeStdout:
			out.Write(rec.Content)
		case rec.Type == TypeStderr:
			errs.Write(rec.Content)
		case rec.Type == TypeEndRequest:
			r.Stdout, r.Stderr, r.ProtocolStatus = out.Bytes(), errs.Bytes(), rec.Content[4]
			return r, nil
		}
	}
}

func TestKeepConnServesManyRequests(t *testing.T) {
	s := startServer(t, Config{}, echo)
	c := dial(t, s.addr)
	for i := range 5 {
		body := strings.Repeat("x", i*1000)
		r, err := c.Do(Call{ID: uint16(i + 1), KeepConn: true, Params: nginxParams("/k.php"), Stdin: []byte(body)})
		require.NoError(t, err)
		resp, err := ParseCGI(r.Stdout)
		require.NoError(t, err)
		assert.Equal(t, "script=/k.php body="+body, string(resp.Body))
		assert.Equal(t, "7", resp.Header.Get("X-Request-Id"))
	}
	c.Close()
	assert.NoError(t, s.connErr(t, 1))
}

func TestGetValuesAndUnknownType(t *testing.T) {
	s := startServer(t, Config{MaxConns: 4, MaxReqs: 4}, echo)
	c := dial(t, s.addr)
	v, err := c.GetValues(MaxConns, MaxReqs, MpxsConns, "FCGI_NOT_A_VARIABLE")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{MaxConns: "4", MaxReqs: "4", MpxsConns: "0"}, v)

	_, err = c.rw.Write(AppendRecord(nil, RecType(42), 0, nil))
	require.NoError(t, err)
	rec, _, err := ReadRecord(c.rw, nil)
	require.NoError(t, err)
	assert.Equal(t, TypeUnknownType, rec.Type)
	assert.Equal(t, byte(42), rec.Content[0])

	// The same connection then serves a request.
	r, err := c.Do(Call{Params: nginxParams("/after.php")})
	require.NoError(t, err)
	assert.Contains(t, string(r.Stdout), "script=/after.php")
}

func TestUnknownRole(t *testing.T) {
	s := startServer(t, Config{}, echo)
	c := dial(t, s.addr)
	r, err := c.Do(Call{Role: RoleAuthorizer, KeepConn: true, Params: nginxParams("/a.php")})
	require.NoError(t, err)
	assert.Equal(t, uint8(StatusUnknownRole), r.ProtocolStatus)
	assert.Empty(t, r.Stdout)
	r, err = c.Do(Call{ID: 2, Params: nginxParams("/b.php")})
	require.NoError(t, err)
	assert.Equal(t, uint8(StatusRequestComplete), r.ProtocolStatus)
	assert.Contains(t, string(r.Stdout), "script=/b.php")
}

func TestSecondRequestIsRefusedCantMpx(t *testing.T) {
	s := startServer(t, Config{}, echo)
	c := dial(t, s.addr)
	// Request 1 begins; request 2 begins before 1 is complete.
	wire := AppendBeginRequest(nil, 1, RoleResponder, 0)
	wire = AppendStream(wire, TypeParams, 1, AppendParam(nil, "SCRIPT_NAME", "/one.php"))
	wire = AppendBeginRequest(wire, 2, RoleResponder, 0)
	wire = AppendStream(wire, TypeParams, 2, AppendParam(nil, "SCRIPT_NAME", "/two.php"))
	wire = AppendStream(wire, TypeStdin, 2, nil)
	wire = AppendStream(wire, TypeStdin, 1, []byte("one"))
	_, err := c.rw.Write(wire)
	require.NoError(t, err)
	refused, err := c.readOnly(2)
	require.NoError(t, err)
	assert.Equal(t, uint8(StatusCantMpxConn), refused.ProtocolStatus)
	served, err := c.readOnly(1)
	require.NoError(t, err)
	assert.Contains(t, string(served.Stdout), "script=/one.php body=one")
}

func TestAbortBeforeTheScriptRuns(t *testing.T) {
	ran := make(chan string, 2)
	s := startServer(t, Config{}, HandlerFunc(func(w *Response, r *Request) {
		ran <- r.Params.Get("SCRIPT_NAME")
	}))
	c := dial(t, s.addr)
	wire := AppendBeginRequest(nil, 1, RoleResponder, FlagKeepConn)
	wire = AppendStream(wire, TypeParams, 1, AppendParam(nil, "SCRIPT_NAME", "/aborted.php"))
	wire = AppendRecord(wire, TypeAbortRequest, 1, nil)
	_, err := c.rw.Write(wire)
	require.NoError(t, err)
	r, err := c.readOnly(1)
	require.NoError(t, err)
	assert.Equal(t, uint8(StatusRequestComplete), r.ProtocolStatus)
	_, err = c.Do(Call{ID: 2, Params: nginxParams("/next.php")})
	require.NoError(t, err)
	assert.Equal(t, "/next.php", <-ran, "the aborted script never ran")
}

func TestAbortWhileTheScriptRuns(t *testing.T) {
	saw := make(chan bool, 1)
	started := make(chan struct{})
	s := startServer(t, Config{}, HandlerFunc(func(w *Response, r *Request) {
		close(started)
		deadline := time.Now().Add(5 * time.Second)
		for !r.Aborted() && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		saw <- r.Aborted()
	}))
	c := dial(t, s.addr)
	require.NoError(t, c.Send(Call{Params: nginxParams("/long.php"), KeepConn: true}))
	<-started
	_, err := c.rw.Write(AppendRecord(nil, TypeAbortRequest, 1, nil))
	require.NoError(t, err)
	assert.True(t, <-saw, "the script saw ABORT_REQUEST")
	r, err := c.readOnly(1)
	require.NoError(t, err)
	assert.Equal(t, uint8(StatusRequestComplete), r.ProtocolStatus)
}

func TestPeerCloseAbortsTheScript(t *testing.T) {
	saw := make(chan bool, 1)
	started := make(chan struct{})
	s := startServer(t, Config{}, HandlerFunc(func(w *Response, r *Request) {
		if r.Params.Get("SCRIPT_NAME") != "/long.php" {
			echo(w, r)
			return
		}
		close(started)
		deadline := time.Now().Add(5 * time.Second)
		for !r.Aborted() && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		saw <- r.Aborted()
	}))
	c := dial(t, s.addr)
	require.NoError(t, c.Send(Call{Params: nginxParams("/long.php")}))
	<-started
	c.Close()
	assert.True(t, <-saw, "a closed connection aborts the script")
	get(t, s.addr)
}

func TestPanicIs500AndTheConnectionGoesOn(t *testing.T) {
	s := startServer(t, Config{}, HandlerFunc(func(w *Response, r *Request) {
		if r.Params.Get("SCRIPT_NAME") == "/panic.php" {
			panic("boom")
		}
		echo(w, r)
	}))
	c := dial(t, s.addr)
	r, err := c.Do(Call{KeepConn: true, Params: nginxParams("/panic.php")})
	require.NoError(t, err)
	resp, err := ParseCGI(r.Stdout)
	require.NoError(t, err)
	assert.Equal(t, 500, resp.Status)
	assert.Equal(t, uint32(255), r.AppStatus)
	assert.Contains(t, string(r.Stderr), "script panicked: boom")
	r, err = c.Do(Call{ID: 2, Params: nginxParams("/ok.php")})
	require.NoError(t, err)
	assert.Contains(t, string(r.Stdout), "script=/ok.php")
}

// TestBadInputClosesOnlyThatConnection sends each kind of malformed or
// oversized input on its own connection, checks that the connection is
// closed with an error saying what was wrong, and that the server then
// serves a normal request.
func TestBadInputClosesOnlyThatConnection(t *testing.T) {
	begin := AppendBeginRequest(nil, 1, RoleResponder, 0)
	withParams := AppendStream(append([]byte{}, begin...), TypeParams, 1, AppendParam(nil, "SCRIPT_NAME", "/x.php"))
	cases := []struct {
		name  string
		wire  []byte
		limit bool   // a LimitError, else a ProtocolError
		what  string // in the error message
	}{
		{"bad version", []byte{2, 1, 0, 1, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}, false, "version 2, want 1"},
		{"truncated header", []byte{1, 1, 0}, false, "truncated record"},
		{"truncated content", []byte{1, 1, 0, 1, 0, 8, 0, 0, 0, 1}, false, "truncated record"},
		{"garbage", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), false, "version 71, want 1"},
		{"request id 0 on an application record", AppendBeginRequest(nil, 0, RoleResponder, 0), false, "BEGIN_REQUEST with request id 0"},
		{"short BEGIN_REQUEST body", AppendRecord(nil, TypeBeginRequest, 1, []byte{0, 1}), false, "BEGIN_REQUEST body of 2 bytes"},
		{"STDOUT sent to the application", AppendRecord(nil, TypeStdout, 1, []byte("x")), false, "STDOUT sent to the application"},
		{"GET_VALUES with a request id", AppendRecord(nil, TypeGetValues, 5, nil), false, "GET_VALUES with request id 5"},
		{"STDIN before the params end", AppendRecord(append([]byte{}, begin...), TypeStdin, 1, []byte("x")), false, "STDIN for request 1 before its params stream ended"},
		{"bad name-value pair", AppendStream(append([]byte{}, begin...), TypeParams, 1, []byte{0x80, 0, 0, 9, 1}), false, "malformed name-value pair"},
		{"closed inside a request", withParams, false, "connection closed inside request 1"},
		{"params over the limit", AppendStream(append([]byte{}, begin...), TypeParams, 1, AppendParam(nil, "BIG", strings.Repeat("p", 2000))), true, "params over the limit of 1024 bytes"},
		{"stdin over the limit", AppendStream(withParams, TypeStdin, 1, make([]byte, 5000)), true, "stdin over the limit of 4096 bytes"},
	}
	s := startServer(t, Config{MaxParams: 1024, MaxStdin: 4096}, echo)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", s.addr)
			require.NoError(t, err)
			defer nc.Close()
			_, err = nc.Write(tc.wire)
			require.NoError(t, err)
			nc.(*net.TCPConn).CloseWrite()
			nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			rest, _ := io.ReadAll(nc) // the server closes the connection
			assert.Empty(t, rest, "nothing is answered to malformed input")
			err = s.connErr(t, 2*i+1)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.what)
			assert.Contains(t, err.Error(), "127.0.0.1:", "the error names the peer")
			if tc.limit {
				assert.ErrorIs(t, err, ErrTooLarge)
			} else {
				var pe *ProtocolError
				assert.True(t, errors.As(err, &pe), "%T is a *ProtocolError", err)
			}
			get(t, s.addr)
		})
	}
}

// waiter is a Waiter in memory: its bytes arrive in chunks, each made
// readable by the WaitReadable before it; at each wait it notes whether
// the Conn held a read buffer.
type waiter struct {
	chunks [][]byte
	ready  bool
	c      *Conn
	held   []bool // per wait: did the Conn hold a read buffer?
	out    bytes.Buffer
}

func (w *waiter) ReadNow(p []byte) (int, error) {
	if !w.ready {
		if len(w.chunks) == 0 {
			return 0, io.EOF
		}
		return 0, nil
	}
	n := copy(p, w.chunks[0])
	if w.chunks[0] = w.chunks[0][n:]; len(w.chunks[0]) == 0 {
		w.chunks, w.ready = w.chunks[1:], false
	}
	return n, nil
}

func (w *waiter) WaitReadable() error {
	w.held = append(w.held, cap(w.c.in) > 0)
	w.ready = len(w.chunks) > 0
	return nil
}

func (w *waiter) Read(p []byte) (int, error) {
	panic("a Conn with Buffers on a Waiter must not block in Read")
}
func (w *waiter) Write(p []byte) (int, error) { return w.out.Write(p) }

// With Buffers, a Conn on a Waiter holds no buffer while it waits for the
// web server's bytes or while the script runs, and answers byte for byte
// what a Conn with buffers of its own answers.
func TestBuffersAreLentOnlyToReadAndWrite(t *testing.T) {
	var params []byte
	for name, value := range nginxParams("/hello.php") {
		params = AppendParam(params, name, value)
	}
	// The records arrive in three reads, a wait before each.
	chunks := [][]byte{
		AppendBeginRequest(nil, 1, RoleResponder, 0),
		AppendStream(nil, TypeParams, 1, params),
		AppendStream(nil, TypeStdin, 1, []byte("body")),
	}
	wire := slices.Concat(chunks...)
	hello := HandlerFunc(func(w *Response, r *Request) {
		w.SetHeader("Content-Type", "text/plain")
		w.WriteString("hello " + string(r.Stdin))
	})

	plain := &rw{in: bytes.NewReader(wire)}
	_, err := NewConn(plain, "test", Config{}).ServeOne(hello)
	require.NoError(t, err)

	bufs := &Buffers{}
	w := &waiter{chunks: slices.Clone(chunks)}
	w.c = NewConn(w, "test", Config{Buffers: bufs})
	var during bool
	_, err = w.c.ServeOne(HandlerFunc(func(rw *Response, r *Request) {
		during = cap(w.c.in) > 0 || w.c.out != nil
		hello(rw, r)
	}))
	require.NoError(t, err)
	assert.Equal(t, plain.out.Bytes(), w.out.Bytes(), "the same answer")
	assert.Equal(t, []bool{false, false, false}, w.held, "no buffer held while waiting")
	assert.False(t, during, "no buffer held while the script ran")
	assert.True(t, cap(w.c.in) == 0 && w.c.out == nil, "none held after the answer")
	assert.Len(t, bufs.free, 1, "one buffer served the reading and the writing")
}

// lastRW is an in-memory connection that is a LastWriter: it records what
// came through WriteLast apart.
type lastRW struct {
	rw
	last bytes.Buffer
}

func (c *lastRW) WriteLast(p []byte) (int, error) { return c.last.Write(p) }

// The answer to a request without FCGI_KEEP_CONN is written with
// WriteLast, in one piece that ends with END_REQUEST; a kept connection's
// answers with Write, since the connection is not closed after them.
func TestFinishWritesLastOnlyBeforeAClose(t *testing.T) {
	for _, keep := range []bool{false, true} {
		flags := uint8(0)
		if keep {
			flags = FlagKeepConn
		}
		wire := AppendBeginRequest(nil, 1, RoleResponder, flags)
		wire = AppendStream(wire, TypeParams, 1, AppendParam(nil, "SCRIPT_NAME", "/a.php"))
		wire = AppendStream(wire, TypeStdin, 1, nil)
		conn := &lastRW{rw: rw{in: bytes.NewReader(wire)}}
		more, err := NewConn(conn, "test", Config{}).ServeOne(HandlerFunc(func(w *Response, r *Request) {
			io.WriteString(w, "hello")
		}))
		require.NoError(t, err)
		assert.Equal(t, keep, more)
		written, other := conn.last.Bytes(), conn.out.Bytes()
		if keep {
			written, other = other, written
		}
		assert.Empty(t, other, "keep=%v", keep)
		assert.Contains(t, string(written), "hello")
		end := AppendEndRequest(nil, 1, 0, StatusRequestComplete)
		assert.True(t, bytes.HasSuffix(written, end), "keep=%v: the answer ends with END_REQUEST", keep)
	}
}
