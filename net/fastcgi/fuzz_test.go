package fastcgi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"testing"
)

// The seed corpus lives in testdata/fuzz/FuzzNAME; the nginx-* seeds there are
// bytes nginx's fastcgi_pass really sent (captured by the tutorial/peer tests
// with -update-seeds). Run a target longer with
//
//	go test ./net/fastcgi -run XXX -fuzz FuzzConn -fuzztime 60s

func FuzzReadRecord(f *testing.F) {
	f.Add(AppendRecord(nil, TypeStdout, 1, []byte("hello")))
	f.Add([]byte{1, 6, 0, 1, 0, 2, 255, 0, 'o', 'k'})
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, _, err := ReadRecord(bytes.NewReader(data), nil)
		if err != nil {
			return
		}
		again, _, err := ReadRecord(bytes.NewReader(AppendRecord(nil, rec.Type, rec.RequestID, rec.Content)), nil)
		if err != nil || !bytes.Equal(again.Content, rec.Content) || again.Type != rec.Type {
			t.Fatalf("record %v does not survive a round trip: %v", rec.Header, err)
		}
	})
}

func FuzzDecodeParams(f *testing.F) {
	var seed []byte
	for name, value := range nginxParams("/hello.php") {
		seed = AppendParam(seed, name, value)
	}
	f.Add(seed)
	f.Add([]byte{0x80, 0, 0, 1, 0, 'a'})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeParams(data)
		if err != nil {
			return
		}
		var enc []byte
		for name, value := range m {
			enc = AppendParam(enc, name, value)
		}
		again, err := DecodeParams(enc)
		if err != nil || !maps.Equal(m, again) {
			t.Fatalf("params do not survive a round trip: %v", err)
		}
	})
}

// chunked returns at most n bytes per Read, so the assembler sees every
// possible split of the input.
type chunked struct {
	data []byte
	n    int
	out  bytes.Buffer
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.n)], c.data)
	c.data = c.data[n:]
	return n, nil
}

func (c *chunked) Write(p []byte) (int, error) { return c.out.Write(p) }

// FuzzConn feeds arbitrary bytes, split arbitrarily, to the server side of a
// connection: it must never panic, must end with EOF, a ProtocolError or a
// LimitError, and everything it writes must be well-formed records.
func FuzzConn(f *testing.F) {
	f.Add(nginxRequest(), uint8(7))
	f.Add(append(nginxRequest(), nginxRequest()...), uint8(1))
	f.Add(AppendRecord(nil, TypeGetValues, 0, AppendParam(nil, MaxConns, "")), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		serve := func(cfg Config) ([]byte, error) {
			in := &chunked{data: data, n: int(chunk) + 1}
			c := NewConn(in, "fuzz", cfg)
			var err error
			for range 100 {
				var req *Request
				if req, err = c.ReadRequest(); err != nil {
					break
				}
				if req.ID == 0 {
					t.Fatal("request with id 0")
				}
				w := c.Response()
				w.WriteString(req.Params.Get("SCRIPT_NAME"))
				w.Write(req.Stdin)
				if err = c.Finish(0); err != nil {
					break
				}
			}
			return in.out.Bytes(), err
		}
		out, err := serve(Config{MaxParams: 4096, MaxStdin: 4096})
		var pe *ProtocolError
		if err != nil && err != io.EOF && !errors.As(err, &pe) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("unexpected error type %T: %v", err, err)
		}
		// Lent buffers, small ones that must grow, change nothing.
		lent, lentErr := serve(Config{MaxParams: 4096, MaxStdin: 4096, Buffers: &Buffers{Size: 16}})
		if !bytes.Equal(out, lent) || fmt.Sprint(err) != fmt.Sprint(lentErr) {
			t.Fatalf("with Buffers: %q, %v; without: %q, %v", lent, lentErr, out, err)
		}
		for len(out) > 0 {
			rec, _, err := ReadRecord(bytes.NewReader(out), nil)
			if err != nil {
				t.Fatalf("the server wrote a malformed record: %v", err)
			}
			out = out[HeaderLen+int(rec.ContentLength)+int(rec.PaddingLength):]
		}
	})
}
