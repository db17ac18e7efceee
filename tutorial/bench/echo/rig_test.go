package echo

import (
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

// say prints the benchmarks' tables on stdout, which go test passes
// through.
var say = narrator.New(os.Stdout)

// TestMain lets the test binary play the servers: Start re-executes it
// with a role, and proc.Main runs that role instead of the tests.
func TestMain(m *testing.M) {
	proc.Main(Roles)
	os.Exit(m.Run())
}

// server is one echo server's process.
type server struct {
	role string
	addr string
	p    *proc.Process
}

// startServer starts role on a free loopback port with GOMAXPROCS=1, so
// that it has one thread of work whatever it does, waits until it
// accepts, and stops it when tb ends.
func startServer(tb testing.TB, role string) *server {
	tb.Helper()
	addr := freeAddr(tb)
	p, err := proc.Start(proc.Spec{Role: role, Args: []string{addr}, Env: []string{"GOMAXPROCS=1"},
		Stdout: os.Stderr, Stderr: os.Stderr})
	if err != nil {
		tb.Fatal(err)
	}
	s := &server{role: role, addr: addr, p: p}
	tb.Cleanup(func() {
		if err := s.stop(); err != nil {
			tb.Error(err)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return s
		}
		if _, exited, _ := p.TryWait(); exited || time.Now().After(deadline) {
			tb.Fatalf("%s did not start listening on %s: %v", role, addr, err)
		}
	}
}

// freeAddr finds a loopback port nobody listens on, for a server to take:
// gnet cannot be handed a listening socket, so every server listens by
// itself, on an address chosen here.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// stop sends SIGTERM, which every server answers by returning from its
// role, and waits for it; one that has not exited within 5 s is killed.
func (s *server) stop() error {
	s.p.Signal(syscall.SIGTERM)
	done := make(chan proc.Status, 1)
	go func() {
		st, _ := s.p.Wait()
		done <- st
	}()
	select {
	case st := <-done:
		if !st.Exited || st.Code != 0 {
			return fmt.Errorf("%s %d %s after SIGTERM", s.role, s.p.Pid, st)
		}
		return nil
	case <-time.After(5 * time.Second):
		s.p.Signal(syscall.SIGKILL)
		<-done
		return fmt.Errorf("%s %d ignored SIGTERM for 5s: killed", s.role, s.p.Pid)
	}
}

// median of xs; 0 for none.
func median(xs []float64) float64 { return spreadOf(xs).mid }

// ratio is a/b, or 0 when there is no b to compare with.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
