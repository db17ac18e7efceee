package lab01

// This is the grader of lab 01. Run it with
//
//	make lab N=01        (or: go test ./tutorial/labs/01-fastcgi -run Lab01 -v)
//
// Edit lab.go, not this file: the original is used for grading. Each test
// checks your codec against the spec's bytes and against real peers: the
// project's FastCGI server (net/fastcgi) and the cgi-fcgi client.

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/corofpm/corofpm/net/fastcgi"
	"github.com/corofpm/corofpm/net/sock"
	"github.com/corofpm/corofpm/tutorial/peer"
)

// safely runs f and turns a panic into an error, so that one bad input
// reports what went wrong instead of ending the whole grader.
func safely(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return f()
}

func hexOf(b []byte) string {
	if len(b) > 48 {
		return hex.EncodeToString(b[:48]) + fmt.Sprintf("... (%d bytes)", len(b))
	}
	return hex.EncodeToString(b)
}

func TestLab01RecordBytes(t *testing.T) {
	cases := []struct {
		what    string
		t       RecType
		id      uint16
		content string
		want    string
	}{
		{"STDOUT id=1 \"hello\": 3 bytes of padding", TypeStdout, 1, "hello", "0106000100050300" + "68656c6c6f" + "000000"},
		{"the empty STDIN that ends a stream", TypeStdin, 1, "", "0105000100000000"},
		{"8 bytes of content need no padding", TypeStderr, 0x1234, "12345678", "0107123400080000" + "3132333435363738"},
		{"a content length above 255 is two bytes", TypeStdout, 2, strings.Repeat("x", 300), "010600020" + "12c0400" + strings.Repeat("78", 300) + "00000000"},
	}
	for _, c := range cases {
		want, _ := hex.DecodeString(c.want)
		prefix := []byte("kept")
		got := AppendRecord(append([]byte(nil), prefix...), c.t, c.id, []byte(c.content))
		if !bytes.HasPrefix(got, prefix) {
			t.Errorf("%s: AppendRecord must append to dst, but the %q already in dst is gone", c.what, prefix)
			continue
		}
		if got = got[len(prefix):]; !bytes.Equal(got, want) {
			t.Errorf("%s:\n  want %s\n  got  %s", c.what, hexOf(want), hexOf(got))
		}
	}
}

// TestLab01PaddingEveryLength compares every content length from 0 to 17,
// and the largest, with the project's encoder.
func TestLab01PaddingEveryLength(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, MaxContent} {
		content := bytes.Repeat([]byte{'a'}, n)
		got := AppendRecord(nil, TypeStdout, 1, content)
		want := fastcgi.AppendRecord(nil, fastcgi.TypeStdout, 1, content)
		if len(got)%8 != 0 {
			t.Errorf("content of %d bytes: record of %d bytes, not a multiple of 8: the padding is wrong", n, len(got))
		}
		if !bytes.Equal(got, want) {
			t.Errorf("content of %d bytes:\n  want %s\n  got  %s", n, hexOf(want), hexOf(got))
		}
	}
}

// request is a whole request as nginx frames it, made by the project's
// encoder: BEGIN_REQUEST, a PARAMS stream longer than one record holds
// (so split in two), and a short STDIN stream.
func request() []byte {
	params := fastcgi.AppendParam(nil, "SCRIPT_NAME", "/hello.php")
	params = fastcgi.AppendParam(params, "HTTP_COOKIE", strings.Repeat("c", 70000))
	b := fastcgi.AppendBeginRequest(nil, 1, fastcgi.RoleResponder, fastcgi.FlagKeepConn)
	b = fastcgi.AppendStream(b, fastcgi.TypeParams, 1, params)
	return fastcgi.AppendStream(b, fastcgi.TypeStdin, 1, []byte("a=1"))
}

func TestLab01ReadRecord(t *testing.T) {
	stream := request()
	for _, split := range []struct {
		what string
		r    func() io.Reader
	}{
		{"all at once", func() io.Reader { return bytes.NewReader(stream) }},
		{"one byte per Read", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(stream)) }},
		{"three bytes per Read", func() io.Reader { return iotest.HalfReader(bytes.NewReader(stream)) }},
	} {
		mine, real := split.r(), bytes.NewReader(stream)
		for i := 0; ; i++ {
			want, _, wantErr := fastcgi.ReadRecord(real, nil)
			var got Record
			err := safely(func() (err error) { got, err = ReadRecord(mine); return err })
			if wantErr == io.EOF {
				if err != io.EOF {
					t.Errorf("%s: after the last record ReadRecord must return io.EOF, got %v", split.what, err)
				}
				break
			}
			if err != nil {
				t.Errorf("%s: record %d (%s): %v", split.what, i, want.Header, err)
				break
			}
			h := Header{want.Version, RecType(want.Type), want.RequestID, want.ContentLength, want.PaddingLength, want.Reserved}
			if got.Header != h || !bytes.Equal(got.Content, want.Content) {
				t.Errorf("%s: record %d:\n  want %+v content %s\n  got  %+v content %s\n  (did you read the padding? the next record starts after it)",
					split.what, i, h, hexOf(want.Content), got.Header, hexOf(got.Content))
				break
			}
		}
	}
}

func TestLab01ReadRecordCut(t *testing.T) {
	whole := fastcgi.AppendRecord(nil, fastcgi.TypeStdout, 1, []byte("hello")) // 8 + 5 + 3 bytes
	for n := 1; n < len(whole); n++ {
		where := "in the header"
		if n >= 13 {
			where = "in the padding"
		} else if n >= HeaderLen {
			where = "in the content"
		}
		err := safely(func() error { _, err := ReadRecord(bytes.NewReader(whole[:n])); return err })
		if err != io.ErrUnexpectedEOF {
			t.Errorf("a record cut after %d of %d bytes (%s): want io.ErrUnexpectedEOF, got %v", n, len(whole), where, err)
		}
	}
	v2 := append([]byte{2}, whole[1:]...)
	err := safely(func() error { _, err := ReadRecord(bytes.NewReader(v2)); return err })
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a record of version 2: want an error about the version, got %v", err)
	}
}

func TestLab01ParamBytes(t *testing.T) {
	cases := []struct {
		what, name, value, want string
	}{
		{"short name and value", "SCRIPT_NAME", "/hello.php", "0b0a" + hex.EncodeToString([]byte("SCRIPT_NAME/hello.php"))},
		{"an empty value", "QUERY_STRING", "", "0c00" + hex.EncodeToString([]byte("QUERY_STRING"))},
		{"a 127-byte value: one length byte", "X", strings.Repeat("v", 127), "017f58" + strings.Repeat("76", 127)},
		{"a 128-byte value: four length bytes, top bit set", "X", strings.Repeat("v", 128), "018000008058" + strings.Repeat("76", 128)},
		{"a 200-byte name", strings.Repeat("n", 200), "1", "800000c801" + strings.Repeat("6e", 200) + "31"},
		{"a 70000-byte value", "X", strings.Repeat("v", 70000), "018001117058" + strings.Repeat("76", 70000)},
	}
	for _, c := range cases {
		want, _ := hex.DecodeString(c.want)
		got := AppendParam([]byte("kept"), c.name, c.value)
		if !bytes.HasPrefix(got, []byte("kept")) {
			t.Errorf("%s: AppendParam must append to dst, but what was in dst is gone", c.what)
		} else if got = got[4:]; !bytes.Equal(got, want) {
			t.Errorf("%s:\n  want %s\n  got  %s", c.what, hexOf(want), hexOf(got))
		}
	}
}

// pairs has a value of every length class and an empty one.
var pairs = []Pair{
	{"SCRIPT_NAME", "/hello.php"},
	{"QUERY_STRING", ""},
	{"HTTP_COOKIE", strings.Repeat("c", 127)},
	{"HTTP_X_LONG", strings.Repeat("l", 128)},
	{strings.Repeat("N", 300), strings.Repeat("v", 70000)},
}

func TestLab01DecodeParams(t *testing.T) {
	var real []byte
	for _, p := range pairs {
		real = fastcgi.AppendParam(real, p.Name, p.Value)
	}
	var got []Pair
	err := safely(func() (err error) { got, err = DecodeParams(real); return err })
	if err != nil {
		t.Fatalf("DecodeParams of a stream made by net/fastcgi: %v", err)
	}
	if len(got) != len(pairs) {
		t.Fatalf("DecodeParams: %d pairs, want %d", len(got), len(pairs))
	}
	for i := range pairs {
		if got[i] != pairs[i] {
			t.Errorf("pair %d: name of %d bytes, value of %d; want %d and %d (%.20q=%.20q)",
				i, len(got[i].Name), len(got[i].Value), len(pairs[i].Name), len(pairs[i].Value), pairs[i].Name, pairs[i].Value)
		}
	}
	if err := safely(func() (err error) { got, err = DecodeParams(nil); return err }); err != nil || len(got) != 0 {
		t.Errorf("DecodeParams of an empty stream: want no pairs and no error, got %d pairs, %v", len(got), err)
	}

	// And the other way: net/fastcgi decodes what AppendParam wrote.
	var mine []byte
	for _, p := range pairs {
		mine = AppendParam(mine, p.Name, p.Value)
	}
	decoded, err := fastcgi.DecodePairs(mine)
	if err != nil || len(decoded) != len(pairs) {
		t.Errorf("net/fastcgi cannot decode what AppendParam wrote: %d pairs, %v", len(decoded), err)
	}
}

func TestLab01DecodeParamsMalformed(t *testing.T) {
	for _, c := range []struct{ what, hex string }{
		{"one length byte, no second length", "05"},
		{"a four-byte length cut after 1 byte", "80"},
		{"a four-byte length cut after 3 bytes", "800000"},
		{"a name longer than what is left", "0501616263"},
		{"a value longer than what is left", "0105616263"},
		{"lengths near 2^31", "ffffffff7fffffff61"},
		{"a good pair, then a cut one", "01016162" + "0203"},
	} {
		b, _ := hex.DecodeString(c.hex)
		var got []Pair
		err := safely(func() (err error) { got, err = DecodeParams(b); return err })
		switch {
		case err != nil && strings.HasPrefix(err.Error(), "panic:"):
			t.Errorf("%s (%s): DecodeParams panicked: %v; a bad stream from the network must be an error", c.what, c.hex, err)
		case err == nil:
			t.Errorf("%s (%s): want an error, got %d pairs %q", c.what, c.hex, len(got), got)
		}
	}
}

// TestLab01AgainstFastCGIServer frames a request with your AppendRecord and
// AppendParam, sends it over a socket to net/fastcgi's server, and reads
// the reply with your ReadRecord.
func TestLab01AgainstFastCGIServer(t *testing.T) {
	a, b, err := sock.Pair()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	served := make(chan error, 1)
	go func() {
		defer b.Close()
		conn := fastcgi.NewConn(b, "lab01", fastcgi.Config{})
		served <- conn.Serve(fastcgi.HandlerFunc(func(w *fastcgi.Response, r *fastcgi.Request) {
			fmt.Fprintf(w, "%s %d %d", r.Params.Get("SCRIPT_NAME"), len(r.Params.Get("HTTP_X_LONG")), len(r.Stdin))
		}))
	}()

	var params []byte
	params = AppendParam(params, "SCRIPT_NAME", "/lab.php")
	params = AppendParam(params, "HTTP_X_LONG", strings.Repeat("x", 300))
	begin := []byte{0, 1, 0, 0, 0, 0, 0, 0} // role RESPONDER, no KEEP_CONN
	req := AppendRecord(nil, TypeBeginRequest, 1, begin)
	req = AppendRecord(req, TypeParams, 1, params)
	req = AppendRecord(req, TypeParams, 1, nil)
	req = AppendRecord(req, TypeStdin, 1, []byte("body"))
	req = AppendRecord(req, TypeStdin, 1, nil)
	if _, err := a.Write(req); err != nil {
		t.Fatal(err)
	}
	if err := a.SetReadTimeout(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	var stdout []byte
	for {
		var rec Record
		err := safely(func() (err error) { rec, err = ReadRecord(a); return err })
		if err != nil {
			select {
			case serr := <-served:
				t.Fatalf("net/fastcgi's server did not answer the request your AppendRecord/AppendParam framed: %v\n  request: %s", serr, hexOf(req))
			default:
			}
			t.Fatalf("reading the server's reply with ReadRecord: %v (stdout so far %q)", err, stdout)
		}
		if rec.Type == TypeStdout {
			stdout = append(stdout, rec.Content...)
		}
		if rec.Type == TypeEndRequest {
			break
		}
	}
	if want := "/lab.php 300 4"; !strings.HasSuffix(string(stdout), "\r\n\r\n"+want) {
		t.Errorf("the script's answer: want a body %q, got stdout %q", want, stdout)
	}
}

// TestLab01ServesCgiFcgi is a FastCGI responder made of your four
// functions, and the real cgi-fcgi client as the web server. cgi-fcgi
// sends its whole environment as params, so some values are long.
func TestLab01ServesCgiFcgi(t *testing.T) {
	peer.Need(t, "cgi-fcgi")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := make(chan error, 1)
	go func() { served <- respond(ln) }()

	long := strings.Repeat("z", 500)
	out, err := peer.CgiFcgi(ln.Addr().String(), map[string]string{"SCRIPT_NAME": "/lab.php", "LAB_LONG": long}, []byte("ping"), 5*time.Second)
	if err != nil {
		t.Fatalf("cgi-fcgi: %v (your responder said: %v)", err, <-served)
	}
	if err := <-served; err != nil {
		t.Fatalf("your responder, fed by cgi-fcgi: %v", err)
	}
	want := "/lab.php 500 ping"
	if !strings.HasSuffix(string(out), "\r\n\r\n"+want) {
		t.Errorf("cgi-fcgi printed %q, want a body %q", out, want)
	}
}

// respond serves one request on one connection with the lab's functions.
func respond(ln net.Listener) error {
	c, err := ln.Accept()
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	var params, stdin []byte
	var id uint16
	for done := false; !done; {
		var rec Record
		if err := safely(func() (err error) { rec, err = ReadRecord(c); return err }); err != nil {
			return fmt.Errorf("ReadRecord: %w", err)
		}
		id = rec.RequestID
		switch rec.Type {
		case TypeParams:
			params = append(params, rec.Content...)
		case TypeStdin:
			stdin = append(stdin, rec.Content...)
			done = len(rec.Content) == 0
		}
	}
	var got []Pair
	if err := safely(func() (err error) { got, err = DecodeParams(params); return err }); err != nil {
		return fmt.Errorf("DecodeParams of cgi-fcgi's params: %w", err)
	}
	env := map[string]string{}
	for _, p := range got {
		env[p.Name] = p.Value
	}
	body := fmt.Sprintf("Content-Type: text/plain\r\n\r\n%s %d %s", env["SCRIPT_NAME"], len(env["LAB_LONG"]), stdin)
	out := AppendRecord(nil, TypeStdout, id, []byte(body))
	out = AppendRecord(out, TypeStdout, id, nil)
	out = AppendRecord(out, TypeEndRequest, id, make([]byte, 8)) // appStatus 0, REQUEST_COMPLETE
	_, err = c.Write(out)
	return err
}
