package peer_test

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corofpm/corofpm/net/fastcgi"
	"github.com/corofpm/corofpm/tutorial/peer"
)

var updateSeeds = flag.Bool("update-seeds", false, "write what nginx sent into net/fastcgi's fuzz corpus")

// ourServer is the project's FastCGI server side on a loopback port, one
// connection at a time, keeping a copy of every byte each connection read.
type ourServer struct {
	addr string
	mu   sync.Mutex
	wire [][]byte // per connection
	errs []error
}

func startOurServer(t *testing.T) *ourServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &ourServer{addr: ln.Addr().String()}
	h := fastcgi.HandlerFunc(func(w *fastcgi.Response, r *fastcgi.Request) {
		w.SetHeader("Content-Type", "text/plain")
		fmt.Fprintf(w, "%s %s %d", r.Params.Get("REQUEST_METHOD"), r.Params.Get("SCRIPT_NAME"), len(r.Stdin))
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		c := fastcgi.NewConn(nil, "", fastcgi.Config{})
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			rec := &teeConn{Conn: nc}
			c.Reset(rec, nc.RemoteAddr().String())
			err = c.Serve(h)
			nc.Close()
			s.mu.Lock()
			s.wire, s.errs = append(s.wire, rec.read.Bytes()), append(s.errs, err)
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return s
}

type teeConn struct {
	net.Conn
	read bytes.Buffer
}

func (c *teeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Write(p[:n])
	return n, err
}

// TestNginxSpeaksToOurFastCGI puts real nginx in front of the project's
// FastCGI server: a GET and a POST, with and without fastcgi_keep_conn. What nginx sent is then assembled again
// from the recorded bytes one byte per read, and -update-seeds stores it as
// fuzz seeds.
func TestNginxSpeaksToOurFastCGI(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprintf("keepconn=%v", keep), func(t *testing.T) {
			s := startOurServer(t)
			n := startNginx(t, peer.NginxConfig{FastCGI: s.addr, KeepConn: keep, Root: "/srv/www"})
			code, body := get(t, n.URL("/hello.php?x=1"))
			if code != 200 || body != "GET /hello.php 0" {
				t.Fatalf("GET through nginx: %d %q", code, body)
			}
			post := strings.Repeat("p", 3000)
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Post(n.URL("/form.php"), "text/plain", strings.NewReader(post))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(got) != "POST /form.php 3000" {
				t.Fatalf("POST through nginx: %d %q", resp.StatusCode, got)
			}
			if err := n.Stop(); err != nil { // closes kept connections, so the server records them
				t.Fatal(err)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			for i, err := range s.errs {
				if err != nil {
					t.Errorf("connection %d ended with %v", i, err)
				}
			}
			var all []byte
			for _, w := range s.wire {
				all = append(all, w...)
			}
			checkReassembles(t, all, 2)
			if *updateSeeds {
				writeSeed(t, fmt.Sprintf("nginx-get-post-keepconn-%v", keep), all)
			}
		})
	}
}

// checkReassembles reads want requests back from raw bytes, one byte per read.
func checkReassembles(t *testing.T, wire []byte, want int) {
	t.Helper()
	c := fastcgi.NewConn(&oneByte{data: wire}, "recorded", fastcgi.Config{})
	for i := range want {
		req, err := c.ReadRequest()
		if err != nil {
			t.Fatalf("request %d of the recorded bytes: %v", i+1, err)
		}
		if req.Params.Get("SERVER_SOFTWARE") == "" {
			t.Errorf("request %d: no SERVER_SOFTWARE param", i+1)
		}
		c.Response()
		c.Finish(0)
	}
}

type oneByte struct {
	data []byte
	out  bytes.Buffer
}

func (o *oneByte) Read(p []byte) (int, error) {
	if len(o.data) == 0 {
		return 0, io.EOF
	}
	p[0], o.data = o.data[0], o.data[1:]
	return 1, nil
}

func (o *oneByte) Write(p []byte) (int, error) { return o.out.Write(p) }

// writeSeed stores bytes as a seed of net/fastcgi's FuzzConn, in the corpus
// file format of go test -fuzz, with reads of 7 bytes.
func writeSeed(t *testing.T, name string, data []byte) {
	dir := filepath.Join("..", "..", "net", "fastcgi", "testdata", "fuzz", "FuzzConn")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbyte('\\a')\n", data)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(seed), 0o644); err != nil {
		t.Fatal(err)
	}
}
