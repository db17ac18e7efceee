package lab14

// This is the grader of lab 14. Run it with
//
//	make lab N=14        (or: go test ./tutorial/labs/14-pool -run Lab14 -v)
//
// Edit lab.go, not this file: the original is used for grading. Each test
// runs your Run on a coro.Scheduler with a Poller and a real listening
// socket, and sends it FastCGI requests from goroutines of the test, then
// through a real nginx. The handler sleeps in its coroutine, so the
// requests a pool serves at once are seen in flight together.

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corofpm/corofpm/coro"
	"github.com/corofpm/corofpm/net/fastcgi"
	"github.com/corofpm/corofpm/net/sock"
	"github.com/corofpm/corofpm/tutorial/peer"
)

// nap is how long /sleep.php sleeps, in its coroutine: long enough for
// requests to overlap, on a loaded machine too.
const nap = 300 * time.Millisecond

// server is a pool running Run on a scheduler of its own thread.
type server struct {
	ln     *sock.Listener
	s      *coro.Scheduler
	poller *coro.Poller
	pool   *Pool
	done   chan error  // Run's result
	ended  chan error  // the scheduler's Run's result, once every coroutine has ended
	logs   chan string // what Run logged
	// servedAtReturn is how many requests were done when Run returned.
	servedAtReturn atomic.Int32
	// inFlight and peak count the requests in the handler, now and at
	// most; served those done. The handler changes them on the
	// scheduler's thread, the test reads them on its own: atomics.
	inFlight, peak, served atomic.Int32
}

// ServeFastCGI is the pool's handler: /sleep.php sleeps nap in its
// coroutine. The body names the coroutine that ran the request.
func (srv *server) ServeFastCGI(w *fastcgi.Response, r *fastcgi.Request) {
	n := srv.inFlight.Add(1)
	if n > srv.peak.Load() {
		srv.peak.Store(n)
	}
	if r.Params.Get("SCRIPT_NAME") == "/sleep.php" {
		srv.s.Current().Sleep(nap)
	}
	srv.inFlight.Add(-1)
	srv.served.Add(1)
	fmt.Fprintf(w, "coroutine %d", srv.s.Current().ID())
}

func startPool(t *testing.T, capacity int) *server {
	t.Helper()
	ln, err := sock.Listen("127.0.0.1:0", 64)
	if err != nil {
		t.Fatal(err)
	}
	poller, err := coro.NewPoller()
	if err != nil {
		t.Fatal(err)
	}
	srv := &server{ln: ln, poller: poller, done: make(chan error, 1), ended: make(chan error, 1), logs: make(chan string, 16)}
	srv.s = coro.New(coro.Options{Idler: poller, OnPanic: func(e *coro.PanicError) {
		t.Errorf("coroutine %d panicked: %v\n%s", e.ID, e.Value, e.Stack)
	}})
	hooked, err := coro.NewListener(srv.s, poller, ln)
	if err != nil {
		t.Fatal(err)
	}
	srv.pool = New(hooked, srv, capacity, func(format string, args ...any) {
		select {
		case srv.logs <- fmt.Sprintf(format, args...):
		default:
		}
	})
	go func() {
		srv.ended <- srv.s.Run(func(c *coro.Co) {
			err := srv.pool.Run(c)
			srv.servedAtReturn.Store(srv.served.Load())
			srv.done <- err
		})
	}()
	select {
	case err := <-srv.done:
		srv.done <- err
		<-srv.ended
		ln.Close()
		poller.Close()
		t.Fatalf("Run returned at once (%v): it should accept and serve until Stop", err)
	case <-time.After(20 * time.Millisecond):
	}
	t.Cleanup(func() {
		srv.s.Post(srv.pool.Stop)
		select {
		case <-srv.done:
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return within 5 s of Stop, with no request in flight")
			return // the scheduler still uses ln and poller
		}
		select {
		case err := <-srv.ended:
			if err != nil {
				t.Errorf("the scheduler: %v", err)
			}
			srv.ended <- err
			poller.Close()
		case <-time.After(5 * time.Second):
			t.Errorf("coroutines still running 5 s after Run returned: a connection's coroutine never ended")
			return
		}
		ln.Close() // closed by Stop already, unless Run is stuck
	})
	return srv
}

// dial connects to the pool with a 5 s deadline on everything after.
func (srv *server) dial(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", srv.ln.Addr, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
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

// closedByPool reports whether the pool closed c: a read finds EOF.
func closedByPool(c net.Conn) error {
	n, err := c.Read(make([]byte, 1))
	if err == io.EOF {
		return nil
	}
	return fmt.Errorf("read %d bytes, %v", n, err)
}

// running fails the test if Run has returned.
func (srv *server) running(t *testing.T, when string) {
	t.Helper()
	select {
	case err := <-srv.done:
		srv.done <- err
		t.Fatalf("%s, Run had already returned (%v): it returns only after Stop", when, err)
	default:
	}
}

// concurrently sends n requests for /sleep.php, each on its own
// connection, all at once, and returns how long they took together.
func (srv *server) concurrently(t *testing.T, n int) time.Duration {
	t.Helper()
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = srv.dial(t)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range conns {
		wg.Go(func() { _, errs[i] = call(c, "/sleep.php", false) })
	}
	wg.Wait()
	took := time.Since(start)
	for i, err := range errs {
		if err != nil {
			srv.running(t, "a request failed")
			t.Fatalf("request %d of %d at once: %v", i+1, n, err)
		}
	}
	return took
}

func TestLab14ServesARequest(t *testing.T) {
	srv := startPool(t, 2)
	c := srv.dial(t)
	body, err := call(c, "/hello.php", false)
	if err != nil {
		srv.running(t, "the pool did not answer")
		t.Fatal(err)
	}
	if !strings.HasPrefix(body, "coroutine ") {
		t.Errorf("body %q, want what the handler wrote", body)
	}
	if err := closedByPool(c); err != nil {
		t.Errorf("after a request without FCGI_KEEP_CONN the pool must close the connection (nginx waits for it otherwise): %v", err)
	}
	srv.running(t, "after one request")
}

// A kept connection's requests are served one after the other by one
// coroutine; its close is no error, and it gives its room back.
func TestLab14KeepConn(t *testing.T) {
	srv := startPool(t, 1)
	c := srv.dial(t)
	var bodies []string
	for i := range 3 {
		body, err := call(c, "/hello.php", true)
		if err != nil {
			srv.running(t, "the pool did not answer")
			t.Fatalf("request %d of 3 on one connection with FCGI_KEEP_CONN: %v; serve a kept connection's requests until the web server closes it", i+1, err)
		}
		bodies = append(bodies, body)
	}
	if bodies[0] != bodies[1] || bodies[1] != bodies[2] {
		t.Errorf("three requests on one kept connection were run by %q: one coroutine per connection serves them all, in a loop", bodies)
	}
	c.Close() // nginx closing a kept connection: ServeOne says io.EOF
	body, err := call(srv.dial(t), "/hello.php", false)
	if err != nil {
		t.Fatalf("with capacity 1, a second connection once the first closed: %v; a connection that ends must give its room back", err)
	}
	if body == bodies[0] {
		t.Errorf("the second connection was served by the first one's coroutine (%s): each connection gets a coroutine of its own", body)
	}
	select {
	case line := <-srv.logs:
		t.Errorf("Run logged %q: the close of a kept connection between two requests (io.EOF) is the normal end, not an error", line)
	default:
	}
}

// A connection that speaks HTTP instead of FastCGI is logged and closed,
// and gives its room back.
func TestLab14SurvivesABadConnection(t *testing.T) {
	srv := startPool(t, 1)
	bad := srv.dial(t)
	bad.Write([]byte("GET /hello.php HTTP/1.1\r\nHost: x\r\n\r\n"))
	if err := closedByPool(bad); err != nil {
		t.Errorf("a connection that sent HTTP instead of FastCGI records must be closed: %v", err)
	}
	select {
	case line := <-srv.logs:
		t.Logf("Run logged: %s", line)
	case <-time.After(time.Second):
		t.Errorf("the bad connection was not logged: call p.logf with the error, in one line")
	}
	if _, err := call(srv.dial(t), "/hello.php", false); err != nil {
		srv.running(t, "the pool did not answer")
		t.Fatalf("with capacity 1, the connection after a bad one: %v; a failed connection must give its room back", err)
	}
}

// capacity requests at once are served at once: in about one nap.
func TestLab14Concurrency(t *testing.T) {
	const capacity = 4
	srv := startPool(t, capacity)
	took := srv.concurrently(t, capacity)
	t.Logf("%d requests of %s at once, capacity %d: %s, %d in flight at most", capacity, nap, capacity, took.Round(time.Millisecond), srv.peak.Load())
	if p := srv.peak.Load(); p != capacity {
		t.Errorf("%d requests at once with capacity %d: at most %d were in the handler together, want %d: serve each connection in a coroutine of its own (c.Go), and go back to Accept at once",
			capacity, capacity, p, capacity)
	}
	if took > nap*19/10 {
		t.Errorf("%d requests that sleep %s in their coroutines took %s together: that is %.1f naps, want about 1 (one at a time would be %d)",
			capacity, nap, took.Round(time.Millisecond), float64(took)/float64(nap), capacity)
	}
}

// Twice capacity requests at once take two rounds: no more than capacity
// are ever in flight, and the others wait in the kernel's accept queue.
func TestLab14Limit(t *testing.T) {
	const capacity = 3
	srv := startPool(t, capacity)
	queued := make(chan int, 1)
	go func() { // while the first round sleeps, look at the accept queue
		deadline := time.Now().Add(5 * time.Second)
		q := 0
		for time.Now().Before(deadline) && q < capacity && srv.served.Load() == 0 {
			if srv.inFlight.Load() == capacity {
				q, _, _ = srv.ln.AcceptQueue()
			}
			time.Sleep(time.Millisecond)
		}
		queued <- q
	}()
	took := srv.concurrently(t, 2*capacity)
	q := <-queued
	t.Logf("%d requests of %s at once, capacity %d: %s, %d in flight at most, %d seen waiting in the accept queue",
		2*capacity, nap, capacity, took.Round(time.Millisecond), srv.peak.Load(), q)
	if p := srv.peak.Load(); p != capacity {
		t.Errorf("%d requests at once with capacity %d: %d were in the handler together at most, want exactly %d", 2*capacity, capacity, p, capacity)
	}
	if q != capacity {
		t.Errorf("while %d requests were in flight, the kernel's accept queue held %d connections, want the other %d: with capacity connections in flight, do not call Accept (an accepted connection waiting for room is one the pool's other workers can no longer take)",
			capacity, q, capacity)
	}
	if took < 2*nap {
		t.Errorf("%d requests that sleep %s, %d at a time, took %s: two rounds take at least %s", 2*capacity, nap, capacity, took.Round(time.Millisecond), 2*nap)
	}
	if n := srv.served.Load(); n != 2*capacity {
		t.Errorf("the handler ran %d requests, want %d", n, 2*capacity)
	}
}

// Stop with requests in flight: they all complete, a kept connection is
// closed after its request, nothing new is accepted, Run returns nil, and
// every fd the pool opened is closed.
func TestLab14Stop(t *testing.T) {
	const capacity = 3
	warm, _ := net.Dial("tcp", "127.0.0.1:1") // the Go runtime's own poller fds, opened once
	if warm != nil {
		warm.Close()
	}
	fdsBefore := openFDs(t)
	srv := startPool(t, capacity)
	conns := []net.Conn{srv.dial(t), srv.dial(t), srv.dial(t)}
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() { _, errs[i] = call(c, "/sleep.php", i == 0) }) // the first asks to keep its connection
	}
	for deadline := time.Now().Add(nap * 8 / 10); srv.inFlight.Load() < capacity; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests at once, capacity %d: only %d in flight after %s", capacity, capacity, srv.inFlight.Load(), nap*8/10)
		}
	}
	srv.s.Post(srv.pool.Stop)
	time.Sleep(nap / 10)
	srv.running(t, fmt.Sprintf("Stop with %d requests in flight", capacity))
	if late, err := net.DialTimeout("tcp", srv.ln.Addr, time.Second); err == nil {
		late.Close()
		t.Errorf("a connection was accepted after Stop: the listener is closed by Stop, the kernel must refuse it")
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("request %d of %d in flight at Stop: %v; Stop takes no new connection but finishes those in flight", i+1, capacity, err)
		}
	}
	if err := closedByPool(conns[0]); err != nil {
		t.Errorf("a kept connection whose request was in flight at Stop must be closed after that request: %v", err)
	}
	select {
	case err := <-srv.done:
		if err != nil {
			t.Errorf("after Stop, Run must return nil once the requests in flight are done, got %v", err)
		}
		if n := srv.servedAtReturn.Load(); n != capacity {
			t.Errorf("Run returned when %d of the %d requests in flight at Stop were done: wait for them all (inFlight.Wait), then return", n, capacity)
		}
		srv.done <- err
	case <-time.After(2 * time.Second):
		t.Fatalf("Run had not returned 2 s after the requests in flight at Stop were done: wait for them (coro.WaitGroup), then return")
	}
	select {
	case err := <-srv.ended:
		srv.ended <- err // for the cleanup
	case <-time.After(2 * time.Second):
		t.Fatalf("coroutines still running 2 s after Run returned: a connection's coroutine never ended")
	}
	if n := srv.poller.Watched(); n != 0 {
		t.Errorf("after Run returned, %d fds are still registered with the poller: close every coro.Conn when its connection ends", n)
	}
	for _, c := range conns {
		c.Close()
	}
	srv.poller.Close()
	if fds := openFDs(t); len(fds) > len(fdsBefore) {
		t.Errorf("%d fds open before the pool, %d after it stopped: %v leaked", len(fdsBefore), len(fds), newFDs(fdsBefore, fds))
	}
}

// TestLab14BehindNginx puts the pool behind a real nginx: twice capacity
// browsers at once.
func TestLab14BehindNginx(t *testing.T) {
	peer.Need(t, "nginx")
	const capacity = 2
	srv := startPool(t, capacity)
	ngx, err := peer.StartNginx(peer.NginxConfig{Dir: filepath.Join(t.TempDir(), "nginx"), FastCGI: srv.ln.Addr})
	if err != nil {
		t.Fatal(err)
	}
	defer ngx.Stop()
	client := &http.Client{Timeout: 5 * time.Second}
	var wg sync.WaitGroup
	errs := make([]error, 2*capacity)
	start := time.Now()
	for i := range errs {
		wg.Go(func() {
			resp, err := client.Get(ngx.URL("/sleep.php"))
			if err != nil {
				errs[i] = err
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "coroutine ") {
				errs[i] = fmt.Errorf("%d %q", resp.StatusCode, body)
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("GET /sleep.php through nginx, request %d of %d: %v\nnginx's error log: %s", i+1, len(errs), err, ngx.ErrorLog())
		}
	}
	t.Logf("%d GETs of %s through nginx at once, capacity %d: %s, %d in flight at most", len(errs), nap, capacity, took.Round(time.Millisecond), srv.peak.Load())
	if p := srv.peak.Load(); p != capacity {
		t.Errorf("%d GETs through nginx at once with capacity %d: %d were in the handler together at most, want %d", len(errs), capacity, p, capacity)
	}
}

// openFDs lists this process's open fds, with what each is.
func openFDs(t *testing.T) map[string]string {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	fds := map[string]string{}
	for _, e := range entries {
		target, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		fds[e.Name()] = target
	}
	return fds
}

// newFDs are the fds of after that were not in before.
func newFDs(before, after map[string]string) []string {
	var fresh []string
	for fd, target := range after {
		if before[fd] != target {
			fresh = append(fresh, fd+" → "+target)
		}
	}
	return fresh
}
