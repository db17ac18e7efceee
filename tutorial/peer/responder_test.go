package peer_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/corofpm/corofpm/tutorial/peer"
)

// responder is the FastCGI application behind nginx in these tests: Go's
// own net/http/fcgi, a known-good server, so that a failure points at the
// peer package and not at the project's FastCGI code.
type responder struct {
	// Addr is what nginx's fastcgi_pass and cgi-fcgi's -connect take.
	Addr string

	mu sync.Mutex
	// wire holds every byte the responder has read. net/http/fcgi hides
	// SCRIPT_NAME from the handler (it folds it into the request), so the
	// tests look for the name-value pair on the wire instead.
	wire bytes.Buffer
	// conns counts accepted connections: one per request without
	// fastcgi_keep_conn, one in all with it.
	conns int
}

// startResponder serves on a free 127.0.0.1 port, or on a unix socket in a
// temp dir when unix is true, until the test ends.
//
//	GET  /hello.php  ->  "hello from /hello.php\n"
//	POST /echo.php   ->  the request body
//	GET  /slow.php   ->  "slow\n" after one second
func startResponder(t *testing.T, unix bool) *responder {
	t.Helper()
	var ln net.Listener
	var err error
	if unix {
		ln, err = net.Listen("unix", filepath.Join(t.TempDir(), "fcgi.sock"))
	} else {
		var port int
		if port, err = peer.FreePort(); err == nil {
			ln, err = net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	r := &responder{Addr: ln.Addr().String()}
	served := make(chan error, 1)
	go func() { served <- fcgi.Serve(&recordingListener{ln, r}, http.HandlerFunc(r.serveHTTP)) }()
	t.Cleanup(func() {
		ln.Close()
		if err := <-served; err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("fcgi.Serve: %v", err)
		}
	})
	return r
}

func (r *responder) serveHTTP(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	switch req.URL.Path {
	case "/echo.php":
		io.Copy(w, req.Body)
	case "/slow.php":
		time.Sleep(time.Second)
		fmt.Fprintln(w, "slow")
	default:
		fmt.Fprintf(w, "hello from %s\n", req.URL.Path)
	}
}

// sawParam reports whether the pair name=value crossed the wire, in the
// FastCGI name-value encoding for short strings: a length byte for each,
// then the bytes, e.g. "\x0b\x0aSCRIPT_NAME/hello.php".
func (r *responder) sawParam(name, value string) bool {
	pair := append([]byte{byte(len(name)), byte(len(value))}, name+value...)
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Contains(r.wire.Bytes(), pair)
}

// sawBytes reports whether s appeared anywhere in what the responder read.
func (r *responder) sawBytes(s string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Contains(r.wire.Bytes(), []byte(s))
}

func (r *responder) connCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns
}

// recordingListener counts connections and copies what they read into the
// responder, for the assertions above.
type recordingListener struct {
	net.Listener
	r *responder
}

func (l *recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.r.mu.Lock()
	l.r.conns++
	l.r.mu.Unlock()
	return &recordingConn{c, l.r}, nil
}

type recordingConn struct {
	net.Conn
	r *responder
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.r.mu.Lock()
	c.r.wire.Write(p[:n])
	c.r.mu.Unlock()
	return n, err
}
