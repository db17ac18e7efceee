package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/net/reactor"
	"github.com/corofpm/corofpm/net/sock"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"golang.org/x/sys/unix"
)

// margin is the fds a process needs besides its connections: stdio, the
// Go runtime's, the loop's epoll and eventfd, the listener, the control
// socket. Generous, since go test adds a few.
const margin = 64

// crowd is what step 1 measured.
type crowd struct {
	// Wanted is the connections asked for; Conns how many fit under
	// RLIMIT_NOFILE (Limit, this process's soft limit) and were opened.
	Wanted, Conns int
	Limit         uint64
	ClientsPid    int
	// Report is what the clients measured.
	Report report
	// Served is the messages the server echoed; Accepted and Closed the
	// connections it saw come and go.
	Served, Accepted, Closed int
	// HeapPerConn and RSSPerConn are the server's growth per connection
	// once all were open: Go heap after a GC, and resident memory.
	HeapPerConn, RSSPerConn float64
	// CPU is the loop thread's CPU time during the load, of Load wall time.
	CPU, Load time.Duration
}

// echoServer is the crowd's server: an echo on a reactor loop. Its
// counters belong to the loop's thread; read them with stats.
type echoServer struct {
	loop                    *reactor.Loop
	ln                      *reactor.Listener
	accepted, closed, bytes int
	done                    chan error
}

// ANCHOR: echo
// startEcho runs a loop on its own goroutine (and thread) with an echo
// server on it: every byte read is written back, and counted.
func startEcho(addr string) (*echoServer, error) {
	l, err := reactor.New()
	if err != nil {
		return nil, err
	}
	s := &echoServer{loop: l, done: make(chan error, 1)}
	go func() { s.done <- l.Run() }()
	var lerr error
	s.onLoop(func() {
		s.ln, lerr = l.Listen(addr, func(c *reactor.Conn) {
			s.accepted++
			c.OnData(func(c *reactor.Conn, p []byte) {
				s.bytes += len(p)
				c.Write(p)
			})
			c.OnClose(func(*reactor.Conn, error) { s.closed++ })
		})
	})
	if lerr != nil {
		s.stop()
		return nil, lerr
	}
	return s, nil
}

// ANCHOR_END: echo

// onLoop runs f on the loop's thread and waits for it: how another
// goroutine reads the loop's state without a lock.
func (s *echoServer) onLoop(f func()) {
	done := make(chan struct{})
	if s.loop.Wake(func() { f(); close(done) }) == nil {
		<-done
	}
}

// stats are the counters, read on the loop's thread.
func (s *echoServer) stats() (open, closed, bytes int) {
	s.onLoop(func() { open, closed, bytes = s.accepted-s.closed, s.closed, s.bytes })
	return
}

// waitOpen waits until the server has want connections open, for at most
// limit.
func (s *echoServer) waitOpen(want int, limit time.Duration) bool {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if open, _, _ := s.stats(); open == want {
			return true
		}
	}
	return false
}

// threadCPU is the loop thread's CPU time so far (getrusage RUSAGE_THREAD
// on that thread).
func (s *echoServer) threadCPU() time.Duration {
	var ru unix.Rusage
	s.onLoop(func() { unix.Getrusage(unix.RUSAGE_THREAD, &ru) })
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (s *echoServer) stop() error {
	s.loop.Stop()
	return <-s.done
}

// fit raises RLIMIT_NOFILE's soft limit for conns connections plus the
// margin, up to the hard limit, and says how many connections fit. Each
// process has its own limit: the server holds one fd per connection here,
// the clients one each in their process.
func fit(conns int) (int, uint64, error) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return 0, 0, err
	}
	if need := uint64(conns + margin); rl.Cur < need {
		rl.Cur = min(need, rl.Max)
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
			return 0, 0, err
		}
	}
	return min(conns, int(rl.Cur)-margin), rl.Cur, nil
}

// memory is the Go heap in use after a collection, and the process's
// resident set (statm's second field, in pages).
func memory() (heap, rss uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			pages, _ := strconv.ParseUint(f[1], 10, 64)
			rss = pages * uint64(os.Getpagesize())
		}
	}
	return ms.HeapAlloc, rss
}

// runCrowd serves the crowd: the clients run in a child process, as if
// on other machines, so that the server's fds, memory and CPU are its own.
func runCrowd(n *narrator.Narrator, cfg settings) (cr crowd, err error) {
	cr.Wanted = cfg.conns
	if cr.Conns, cr.Limit, err = fit(cfg.conns); err != nil {
		return cr, err
	}
	n.Say("RLIMIT_NOFILE is %d per process (Go raises the soft limit to the hard one at start)", cr.Limit)
	if cr.Conns < cr.Wanted {
		n.Warn("room for %d connections only, not %d: the hard limit caps it (ulimit -Hn, or run as root)", cr.Conns, cr.Wanted)
	}
	srv, err := startEcho("127.0.0.1:0")
	if err != nil {
		return cr, err
	}
	defer srv.stop()
	heap0, rss0 := memory()

	ctl, child, err := startClients(n, srv.ln.Addr(), cr.Conns, cfg)
	if err != nil {
		return cr, err
	}
	defer ctl.Close()
	cr.ClientsPid = child.Pid
	defer func() { // on an error path the child may still run
		if _, done, _ := child.TryWait(); !done {
			child.Signal(syscall.SIGKILL)
			child.Wait()
		}
	}()
	n.Say("echo server: pid %d, one loop thread, listening on %s", os.Getpid(), srv.ln.Addr())
	n.Say("clients: pid %d, a loop of their own, opening %d connections", child.Pid, cr.Conns)

	in := bufio.NewReader(ctl)
	var connectNs int64
	if err := readLine(in, "connected %d %d\n", &cr.Conns, &connectNs); err != nil {
		return cr, err
	}
	if !srv.waitOpen(cr.Conns, 10*time.Second) {
		open, _, _ := srv.stats()
		return cr, fmt.Errorf("the server has %d connections open, want %d", open, cr.Conns)
	}
	heap1, rss1 := memory()
	n.Detail("heap %d → %d bytes, RSS %d → %d bytes, for %d connections", heap0, heap1, rss0, rss1, cr.Conns)
	cr.HeapPerConn = float64(int64(heap1)-int64(heap0)) / float64(cr.Conns)
	cr.RSSPerConn = float64(int64(rss1)-int64(rss0)) / float64(cr.Conns)
	n.Say("%d connections open in %v; each sends %d messages of %d bytes, one every %v,",
		cr.Conns, time.Duration(connectNs).Round(time.Millisecond), int(cfg.load/cfg.interval), msgSize, cfg.interval)
	n.Say("with the time it was sent in it: the client's clock measures the round trip")

	cpu0, t0 := srv.threadCPU(), time.Now()
	if _, err := io.WriteString(ctl, "go\n"); err != nil {
		return cr, err
	}
	if err := json.NewDecoder(in).Decode(&cr.Report); err != nil {
		return cr, fmt.Errorf("the clients' report: %w", err)
	}
	cr.CPU, cr.Load = srv.threadCPU()-cpu0, time.Since(t0)
	if st, err := child.Wait(); err != nil || !st.Exited || st.Code != 0 {
		return cr, fmt.Errorf("clients %d: %v %v", child.Pid, st, err)
	}
	srv.waitOpen(0, 10*time.Second) // the clients' exit closed their ends
	open, closed, bytes := srv.stats()
	cr.Accepted, cr.Closed, cr.Served = open+closed, closed, bytes/msgSize
	printCrowd(n, cr)
	return cr, nil
}

// startClients starts the child with one end of a socketpair as fd 3:
// its control line to this process.
func startClients(n *narrator.Narrator, addr string, conns int, cfg settings) (*sock.Conn, *proc.Process, error) {
	ours, theirs, err := sock.Pair()
	if err != nil {
		return nil, nil, err
	}
	f := os.NewFile(uintptr(theirs.FD), "control")
	defer f.Close()
	child, err := proc.Start(proc.Spec{Role: "clients",
		Args:   []string{addr, strconv.Itoa(conns), cfg.interval.String(), cfg.load.String()},
		Files:  []*os.File{f},
		Output: func(pid int) io.Writer { return n.Tagged("clients", pid) }})
	if err != nil {
		ours.Close()
		return nil, nil, err
	}
	// The report comes after the load, and the child's own timeout.
	if err := ours.SetReadTimeout(cfg.load + 60*time.Second); err != nil {
		ours.Close()
		return nil, nil, err
	}
	return ours, child, nil
}

// readLine reads one line and scans it with format.
func readLine(r *bufio.Reader, format string, args ...any) error {
	line, err := r.ReadString('\n')
	if err != nil {
		return fmt.Errorf("the clients' control line: %w", err)
	}
	if _, err := fmt.Sscanf(line, format, args...); err != nil {
		return fmt.Errorf("the clients said %q: %w", line, err)
	}
	return nil
}

func printCrowd(n *narrator.Narrator, cr crowd) {
	r := cr.Report
	t := n.Table("measured", "", "")
	t.Row("connections", cr.Conns, fmt.Sprintf("accepted %d, closed %d by the server's count", cr.Accepted, cr.Closed))
	t.Row("messages sent", r.Sent, "by the clients")
	t.Row("messages echoed", r.Echoed, fmt.Sprintf("back at the clients; the server echoed %d", cr.Served))
	t.Row("round trip p50", r.P50, "from the timestamp in the message, at the client")
	t.Row("round trip p99", r.P99, fmt.Sprintf("max %v", r.Max.Round(time.Microsecond)))
	t.Row("server heap / connection", fmt.Sprintf("%.0f B", cr.HeapPerConn), "Go heap after a GC, before and after connecting")
	t.Row("server RSS / connection", fmt.Sprintf("%.0f B", cr.RSSPerConn), "resident memory, the same way")
	t.Row("loop thread CPU", cr.CPU.Round(time.Millisecond), fmt.Sprintf("%.1f%% of one core over %v", 100*cr.CPU.Seconds()/cr.Load.Seconds(), cr.Load.Round(time.Millisecond)))
	t.Print()
	n.Say("a connection is an fd in one epoll set, a Conn on the heap and a socket in the")
	n.Say("kernel, whose buffers are kernel memory, not in these figures. No thread, no")
	n.Say("stack, no read buffer per connection: the loop reads them all into one buffer.")
}
