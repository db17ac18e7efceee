package lab03

// This is the grader of lab 03. Run it with
//
//	make lab N=03        (or: go test ./tutorial/labs/03-accept -run Lab03 -v)
//
// Edit lab.go, not this file: the original is used for grading. The tests
// run your Run in this process, then in two worker processes sharing one
// socket, then behind a real nginx.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/net/fastcgi"
	"github.com/corofpm/corofpm/net/sock"
	"github.com/corofpm/corofpm/tutorial/peer"
	"golang.org/x/sys/unix"
)

// scripts answers with the pid of the process that ran the script;
// /sleep.php takes 300 ms first, a request long enough to overlap another.
var scripts = fastcgi.HandlerFunc(func(w *fastcgi.Response, r *fastcgi.Request) {
	if r.Params.Get("SCRIPT_NAME") == "/sleep.php" {
		time.Sleep(300 * time.Millisecond)
	}
	fmt.Fprintf(w, "pid %d", os.Getpid())
})

var roles = map[string]func(*proc.Child) error{
	// worker runs Run on the listening socket inherited as fd 3.
	"lab03-worker": func(c *proc.Child) error {
		ln, err := sock.FileListener(c.Files[0])
		if err != nil {
			return err
		}
		return Run(ln, scripts, 0, func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, format+"\n", args...)
		})
	},
}

func TestMain(m *testing.M) {
	proc.Main(roles)
	os.Exit(m.Run())
}

// worker is Run on a fresh listening socket, in a goroutine of the test.
type worker struct {
	ln   *sock.Listener
	done chan error  // Run's result
	logs chan string // what Run logged
}

func startWorker(t *testing.T, maxRequests int) *worker {
	t.Helper()
	ln, err := sock.Listen("127.0.0.1:0", 16)
	if err != nil {
		t.Fatal(err)
	}
	w := &worker{ln: ln, done: make(chan error, 1), logs: make(chan string, 16)}
	logf := func(format string, args ...any) {
		select {
		case w.logs <- fmt.Sprintf(format, args...):
		default:
		}
	}
	go func() { w.done <- Run(ln, scripts, maxRequests, logf) }()
	select {
	case err := <-w.done:
		ln.Close()
		t.Fatalf("Run returned at once (%v): it should block in accept(2) until a connection comes", err)
	case <-time.After(20 * time.Millisecond):
	}
	t.Cleanup(func() {
		ln.Shutdown() // wakes Run if it still waits in accept(2)
		select {
		case <-w.done:
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return within 5 s of the listener's shutdown")
		}
		ln.Close()
	})
	return w
}

// running fails the test if Run has returned.
func (w *worker) running(t *testing.T, when string) {
	t.Helper()
	select {
	case err := <-w.done:
		w.done <- err // for the cleanup
		t.Fatalf("%s, Run had already returned (%v): a worker returns only when its listener is shut down or after maxRequests", when, err)
	default:
	}
}

// dial connects to addr with a 3 s deadline on everything after.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(3 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// call sends one request for script on c and returns the body.
func call(c net.Conn, script string, keep bool) (string, error) {
	reply, err := fastcgi.NewClient(c).Do(fastcgi.Call{KeepConn: keep, Params: map[string]string{
		"SCRIPT_NAME": script, "REQUEST_METHOD": "GET",
	}})
	if err != nil {
		return "", fmt.Errorf("no answer to %s: %w", script, err)
	}
	resp, err := fastcgi.ParseCGI(reply.Stdout)
	if err != nil {
		return "", err
	}
	return string(resp.Body), nil
}

// closedByWorker reports whether the worker closed c: a read finds EOF.
func closedByWorker(c net.Conn) error {
	n, err := c.Read(make([]byte, 1))
	if err == io.EOF {
		return nil
	}
	return fmt.Errorf("read %d bytes, %v", n, err)
}

func TestLab03ServesARequest(t *testing.T) {
	w := startWorker(t, 0)
	c := dial(t, w.ln.Addr)
	body, err := call(c, "/hello.php", false)
	if err != nil {
		w.running(t, "the worker did not answer")
		t.Fatal(err)
	}
	if want := fmt.Sprintf("pid %d", os.Getpid()); body != want {
		t.Errorf("body %q, want %q", body, want)
	}
	if err := closedByWorker(c); err != nil {
		t.Errorf("after a request without FCGI_KEEP_CONN the worker must close the connection (nginx waits for it otherwise): %v", err)
	}
	w.running(t, "after one request")
}

func TestLab03KeepConn(t *testing.T) {
	w := startWorker(t, 0)
	c := dial(t, w.ln.Addr)
	for i := range 3 {
		if _, err := call(c, "/hello.php", true); err != nil {
			w.running(t, "the worker did not answer")
			t.Fatalf("request %d of 3 on one connection with FCGI_KEEP_CONN: %v; serve a kept connection's requests until the web server closes it", i+1, err)
		}
	}
	c.Close()
	if _, err := call(dial(t, w.ln.Addr), "/hello.php", false); err != nil {
		t.Fatalf("a second connection, once the first closed: %v; go back to accept(2) after a connection ends", err)
	}
}

func TestLab03SurvivesABadConnection(t *testing.T) {
	w := startWorker(t, 0)
	bad := dial(t, w.ln.Addr)
	bad.Write([]byte("GET /hello.php HTTP/1.1\r\nHost: x\r\n\r\n")) // HTTP, not FastCGI
	if err := closedByWorker(bad); err != nil {
		t.Errorf("a connection that sent HTTP instead of FastCGI records must be closed: %v", err)
	}
	w.running(t, "after a bad connection")
	select {
	case line := <-w.logs:
		t.Logf("Run logged: %s", line)
	case <-time.After(time.Second):
		t.Errorf("the bad connection was not logged: call logf with the error, in one line")
	}
	if _, err := call(dial(t, w.ln.Addr), "/hello.php", false); err != nil {
		t.Fatalf("the connection after a bad one: %v", err)
	}
}

func TestLab03StopsOnShutdown(t *testing.T) {
	w := startWorker(t, 0)
	if _, err := call(dial(t, w.ln.Addr), "/hello.php", false); err != nil {
		w.running(t, "the worker did not answer")
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // back in accept(2)
	w.ln.Shutdown()
	select {
	case err := <-w.done:
		if err != nil {
			t.Errorf("after the listener's shutdown Run must return nil (accept fails with EINVAL: the master stops its workers), got %v", err)
		}
		w.done <- err
	case <-time.After(5 * time.Second):
		t.Fatalf("Run did not return within 5 s of the listener's shutdown")
	}
}

func TestLab03MaxRequests(t *testing.T) {
	w := startWorker(t, 2)
	a := dial(t, w.ln.Addr)
	if _, err := call(a, "/hello.php", true); err != nil {
		w.running(t, "the worker did not answer")
		t.Fatal(err)
	}
	a.Close() // nginx closes a kept connection: no request
	time.Sleep(100 * time.Millisecond)
	w.running(t, "with maxRequests 2, after 1 request and the close of its kept connection")
	b := dial(t, w.ln.Addr)
	if _, err := call(b, "/hello.php", true); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-w.done:
		w.done <- err
		if err != nil {
			t.Errorf("after maxRequests requests Run must return nil, got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("with maxRequests 2, Run had not returned 5 s after the second request")
	}
	if err := closedByWorker(b); err != nil {
		t.Errorf("a worker that reached maxRequests must close the connection even if nginx asked to keep it: %v", err)
	}
}

// startWorkers starts n worker processes that run Run on one socket.
func startWorkers(t *testing.T, n int) *sock.Listener {
	t.Helper()
	t.Cleanup(func() {
		if kids, _ := peer.Children(); len(kids) > 0 {
			t.Errorf("processes left running: %v", kids)
		}
	})
	ln, err := sock.Listen("127.0.0.1:0", 64)
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var workers []*proc.Process
	for range n {
		p, err := proc.Start(proc.Spec{Role: "lab03-worker", Files: []*os.File{f}, Stderr: os.Stderr})
		if err != nil {
			t.Fatal(err)
		}
		workers = append(workers, p)
	}
	// Wait until every worker is blocked in accept(2): a re-executed test
	// binary takes a while to start, the more so with -race, and a worker
	// still starting would leave both requests to the other.
	for _, p := range workers {
		for deadline := time.Now().Add(10 * time.Second); !inAccept(p.Pid); time.Sleep(20 * time.Millisecond) {
			if st, exited, _ := p.TryWait(); exited {
				t.Fatalf("worker %d %s at once: Run should block in accept(2) until a connection comes", p.Pid, st)
			}
			if time.Now().After(deadline) {
				t.Fatalf("worker %d not blocked in accept(2) 10 s after its start", p.Pid)
			}
		}
	}
	t.Cleanup(func() {
		ln.Shutdown() // every worker's accept(2) returns EINVAL
		for _, p := range workers {
			exited := make(chan proc.Status, 1)
			go func() { st, _ := p.Wait(); exited <- st }()
			select {
			case st := <-exited:
				if st.Code != 0 || st.Signal != 0 {
					t.Errorf("worker %d: %s; after the listener's shutdown Run returns nil and the worker exits 0", p.Pid, st)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("worker %d still running 5 s after the listener's shutdown", p.Pid)
				p.Signal(9)
				p.Wait()
			}
		}
		ln.Close()
	})
	return ln
}

func TestLab03Prefork(t *testing.T) {
	ln := startWorkers(t, 2)
	var wg sync.WaitGroup
	bodies := make([]string, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() { bodies[i], errs[i] = call(dial(t, ln.Addr), "/sleep.php", false) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("two requests at once to two workers: %v", err)
	}
	if bodies[0] == bodies[1] {
		t.Errorf("two 300 ms requests at once were both served by %s: with two workers in accept(2) on the socket, each should take one", bodies[0])
	}
	for _, b := range bodies {
		if b == fmt.Sprintf("pid %d", os.Getpid()) {
			t.Errorf("a request was served by the test process, not by a worker")
		}
	}
}

func TestLab03BehindNginx(t *testing.T) {
	peer.Need(t, "nginx")
	ln := startWorkers(t, 2)
	ngx, err := peer.StartNginx(peer.NginxConfig{Dir: filepath.Join(t.TempDir(), "nginx"), FastCGI: ln.Addr})
	if err != nil {
		t.Fatal(err)
	}
	defer ngx.Stop()
	client := &http.Client{Timeout: 5 * time.Second}
	for i := range 4 {
		resp, err := client.Get(ngx.URL("/hello.php"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "pid ") {
			t.Fatalf("GET /hello.php through nginx, request %d: %d %q\nnginx's error log: %s", i+1, resp.StatusCode, body, ngx.ErrorLog())
		}
		if _, err := strconv.Atoi(strings.TrimPrefix(string(body), "pid ")); err != nil {
			t.Errorf("body %q", body)
		}
	}
}

// inAccept reports whether a thread of process pid is blocked in
// accept4(2): /proc/PID/task/TID/syscall starts with the number of the
// system call a blocked thread is in.
func inAccept(pid int) bool {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/syscall", pid))
	for _, task := range tasks {
		b, _ := os.ReadFile(task)
		if nr, _, _ := strings.Cut(string(b), " "); nr == strconv.Itoa(unix.SYS_ACCEPT4) {
			return true
		}
	}
	return false
}
