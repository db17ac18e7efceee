package bench

import (
	"fmt"
	"net"
	"net/http"
	"net/http/fcgi"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"
)

// HelloBody is what every hello server answers: corofpm's /hello.php,
// php-fpm's hello.php, the net/http/fcgi server and nginx's /return.
const HelloBody = "Hello from corofpm\n"

// Server is a Go server running inside this process: the net/http/fcgi
// peer or the slow upstream.
type Server struct {
	// Addr is its address, 127.0.0.1:PORT.
	Addr string
	ln   net.Listener
}

// Close stops accepting; connections in progress finish on their own.
func (s *Server) Close() error { return s.ln.Close() }

// ServeGoFastCGI starts Go's net/http/fcgi on a free loopback port,
// answering HelloBody to every request: what the standard library does
// with a goroutine per connection, the bar corofpm's blocking workers are
// held to.
func ServeGoFastCGI() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: net/http/fcgi: %w", err)
	}
	go fcgi.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte(HelloBody))
	}))
	return &Server{Addr: ln.Addr().String(), ln: ln}, nil
}

// ServeSlowUpstream starts an HTTP server on a free loopback port that
// answers "ok" after delay: the slow backend of the IO-bound benchmark.
// net/http gives each connection a goroutine, so it serves any number of
// waiting requests at once and the FPM in front is the only limit.
func ServeSlowUpstream(delay time.Duration) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: upstream: %w", err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(delay)
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte("ok"))
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go srv.Serve(ln)
	return &Server{Addr: ln.Addr().String(), ln: ln}, nil
}

// BuildCorofpm compiles fpm/cmd/corofpm into dir and returns the binary's
// path: the daemon as an operator runs it, not a test binary in its place.
func BuildCorofpm(dir string) (string, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "corofpm")
	cmd := exec.Command(gobin, "build", "-o", bin, "github.com/corofpm/corofpm/fpm/cmd/corofpm")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("bench: go build corofpm: %w\n%s", err, out)
	}
	return bin, nil
}
