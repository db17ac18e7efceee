package lab04

// This is the grader of lab 04. Run it with
//
//	make lab N=04        (or: go test ./tutorial/labs/04-lock -run Lab04 -v)
//
// Edit lab.go, not this file: the original is used for grading. The tests
// start three worker processes that call your AcceptLocked on one shared
// socket, and look at them from outside: which system call each worker's
// threads are blocked in (/proc/PID/task/TID/syscall), who holds the lock
// (fcntl F_GETLK), and who answers which connection.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/net/sock"
	"github.com/corofpm/corofpm/tutorial/peer"
	"golang.org/x/sys/unix"
)

// hold is how long a worker keeps a connection after it sent its pid.
const hold = 500 * time.Millisecond

var roles = map[string]func(*proc.Child) error{
	// worker accepts with AcceptLocked, writes its pid, holds the
	// connection for a while and closes it; it returns nil once the
	// listener is shut down.
	"lab04-worker": func(c *proc.Child) error {
		ln, err := sock.FileListener(c.Files[0])
		if err != nil {
			return err
		}
		for {
			conn, err := AcceptLocked(ln)
			if errors.Is(err, unix.EINVAL) {
				return nil
			}
			if err != nil {
				return err
			}
			conn.Write([]byte(strconv.Itoa(os.Getpid()) + "\n"))
			time.Sleep(hold)
			conn.Close()
		}
	},
}

func TestMain(m *testing.M) {
	proc.Main(roles)
	os.Exit(m.Run())
}

// startWorkers starts n worker processes on one listening socket.
func startWorkers(t *testing.T, n int) (*sock.Listener, []*proc.Process) {
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
	t.Cleanup(func() {
		ln.Shutdown() // the holder's accept fails with EINVAL, then each next one's
		for _, p := range workers {
			exited := make(chan proc.Status, 1)
			go func() { st, _ := p.Wait(); exited <- st }()
			select {
			case st := <-exited:
				if st.Code != 0 || st.Signal != 0 {
					t.Errorf("worker %d %s; after the listener's shutdown AcceptLocked returns Accept's EINVAL and the worker exits 0", p.Pid, st)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("worker %d still running 5 s after the listener's shutdown: is the lock released when Accept fails?", p.Pid)
				p.Signal(unix.SIGKILL)
				p.Wait()
			}
		}
		ln.Close()
	})
	for range n {
		p, err := proc.Start(proc.Spec{Role: "lab04-worker", Files: []*os.File{f}, Stderr: os.Stderr})
		if err != nil {
			t.Fatal(err)
		}
		workers = append(workers, p)
	}
	// Wait until every worker is blocked in accept or on the lock: a
	// re-executed test binary takes a while to start, the more so with
	// -race, and the tests are about workers that already wait.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, p := range workers {
			if st, exited, _ := p.TryWait(); exited {
				t.Fatalf("worker %d %s at once: AcceptLocked should wait for the lock or a connection", p.Pid, st)
			}
		}
		if len(blockedIn(workers)) == n {
			break
		}
	}
	return ln, workers
}

// blockedIn returns, for each worker, the names of the waits its threads
// are in: "accept" or "lock" (fcntl), the others ignored.
func blockedIn(workers []*proc.Process) map[int][]string {
	in := map[int][]string{}
	for _, p := range workers {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/syscall", p.Pid))
		for _, task := range tasks {
			b, err := os.ReadFile(task)
			if err != nil {
				continue
			}
			nr, _, _ := strings.Cut(string(b), " ")
			switch nr {
			case strconv.Itoa(unix.SYS_ACCEPT4):
				in[p.Pid] = append(in[p.Pid], "accept")
			case strconv.Itoa(unix.SYS_FCNTL):
				in[p.Pid] = append(in[p.Pid], "lock")
			}
		}
	}
	return in
}

// TestLab04OneWorkerInAccept looks at what the three idle workers are
// blocked in: one in accept(2), two in fcntl(F_SETLKW).
func TestLab04OneWorkerInAccept(t *testing.T) {
	_, workers := startWorkers(t, 3)
	var in map[int][]string
	var accepting, locking int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		in = blockedIn(workers)
		accepting, locking = 0, 0
		for _, waits := range in {
			accepting += strings.Count(strings.Join(waits, " "), "accept")
			locking += strings.Count(strings.Join(waits, " "), "lock")
		}
		if accepting == 1 && locking == 2 {
			return
		}
	}
	t.Errorf("three idle workers should wait as one in accept(2) and two in fcntl(F_SETLKW) for the lock;\n"+
		"  seen: %d in accept, %d in fcntl, by worker: %v\n"+
		"  (several in accept: the lock does not exclude; none in fcntl: no fcntl lock is taken)", accepting, locking, in)
}

// TestLab04LockHeldByTheAcceptingWorker asks the kernel who holds a lock
// on the socket (F_GETLK): the worker in accept(2), with a write lock.
func TestLab04LockHeldByTheAcceptingWorker(t *testing.T) {
	ln, workers := startWorkers(t, 3)
	var lk unix.Flock_t
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		lk = unix.Flock_t{Type: unix.F_WRLCK}
		if err := unix.FcntlFlock(uintptr(ln.FD), unix.F_GETLK, &lk); err != nil {
			t.Fatal(err)
		}
		if lk.Type != unix.F_UNLCK {
			break
		}
	}
	if lk.Type != unix.F_WRLCK {
		t.Fatalf("fcntl(F_GETLK) on the listening socket finds %s; a worker waiting in accept(2) should hold a write lock (F_WRLCK) on it", lockType(lk.Type))
	}
	in := blockedIn(workers)
	if !slices.Contains(in[int(lk.Pid)], "accept") {
		t.Errorf("worker %d holds the lock but is not in accept(2); what each waits in: %v", lk.Pid, in)
	}
}

func lockType(t int16) string {
	switch t {
	case unix.F_UNLCK:
		return "no lock"
	case unix.F_RDLCK:
		return "a read lock (F_RDLCK), which does not exclude other readers"
	}
	return "a write lock"
}

// TestLab04ReleasedBeforeServing sends three connections at once. Each
// worker holds its connection for 500 ms after it sends its pid: if the
// lock is released as soon as accept returns, the three are served at the
// same time by three workers, and every pid arrives before any connection
// closes.
func TestLab04ReleasedBeforeServing(t *testing.T) {
	ln, _ := startWorkers(t, 3)
	type answer struct {
		pid         string
		gotPid, eof time.Time
		err         error
	}
	answers := make([]answer, 3)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			a := &answers[i]
			c, err := net.DialTimeout("tcp", ln.Addr, 3*time.Second)
			if err != nil {
				a.err = err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 16)
			n, err := c.Read(buf)
			if err != nil {
				a.err = fmt.Errorf("no pid from the worker: %w", err)
				return
			}
			a.pid, a.gotPid = strings.TrimSpace(string(buf[:n])), time.Now()
			if _, err := io.ReadAll(c); err != nil {
				a.err = err
			}
			a.eof = time.Now()
		})
	}
	wg.Wait()
	pids := map[string]bool{}
	lastPid, firstEOF := answers[0].gotPid, answers[0].eof
	for _, a := range answers {
		if a.err != nil {
			t.Fatalf("connection: %v", a.err)
		}
		pids[a.pid] = true
		if a.gotPid.After(lastPid) {
			lastPid = a.gotPid
		}
		if a.eof.Before(firstEOF) {
			firstEOF = a.eof
		}
	}
	if len(pids) != 3 {
		t.Errorf("three connections at once were served by %d workers (%v), want 3: release the lock right after accept(2)", len(pids), pids)
	}
	if lastPid.After(firstEOF) {
		t.Errorf("a connection was accepted only after another was closed: the connections were served one after the other; release the lock before the caller serves the connection")
	}
}
