package fastcgi

import (
	"bytes"
	"testing"
)

// loop is an in-memory connection whose input can be replayed: each
// benchmark iteration reads the same request and discards the response.
type loop struct {
	r bytes.Reader
	n int // bytes written
}

func (l *loop) Read(p []byte) (int, error)  { return l.r.Read(p) }
func (l *loop) Write(p []byte) (int, error) { l.n += len(p); return len(p), nil }

// nginxRequest frames a typical nginx request: about 30 params, no body.
func nginxRequest() []byte {
	var params []byte
	for name, value := range nginxParams("/hello.php") {
		params = AppendParam(params, name, value)
	}
	wire := AppendBeginRequest(nil, 1, RoleResponder, 0)
	wire = AppendStream(wire, TypeParams, 1, params)
	return AppendStream(wire, TypeStdin, 1, nil)
}

// BenchmarkReadRequest assembles a typical nginx request on a warm
// connection.
func BenchmarkReadRequest(b *testing.B) {
	wire := nginxRequest()
	l := &loop{}
	c := NewConn(l, "bench", Config{})
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	for b.Loop() {
		l.r.Reset(wire)
		c.Reset(l, "bench")
		req, err := c.ReadRequest()
		if err != nil || req.Params.Len() < 25 {
			b.Fatal(err)
		}
	}
}

// BenchmarkRequestResponse1KiB is one whole request on a warm connection:
// assemble the nginx request, run a script writing a 1 KiB body, frame the
// response and END_REQUEST.
func BenchmarkRequestResponse1KiB(b *testing.B) {
	wire := nginxRequest()
	body := bytes.Repeat([]byte("x"), 1024)
	h := HandlerFunc(func(w *Response, r *Request) {
		w.SetHeader("Content-Type", "text/plain")
		w.Write(body)
	})
	l := &loop{}
	c := NewConn(l, "bench", Config{})
	b.ReportAllocs()
	for b.Loop() {
		l.r.Reset(wire)
		c.Reset(l, "bench")
		if err := c.Serve(h); err != nil {
			b.Fatal(err)
		}
	}
	if l.n < 1024*b.N {
		b.Fatalf("wrote %d bytes for %d responses", l.n, b.N)
	}
}

// BenchmarkAppendParams encodes the same params, as a web server does for
// every request.
func BenchmarkAppendParams(b *testing.B) {
	params := nginxParams("/hello.php")
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for name, value := range params {
			buf = AppendParam(buf, name, value)
		}
	}
}
