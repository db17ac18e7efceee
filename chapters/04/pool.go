package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/net/sock"
)

// pool is one round's workers as the master sees them: the processes, the
// thread each one waits on, and the sockets they wait on.
type pool struct {
	// strategy is how the workers wait.
	strategy strategy
	// workers are the processes, in index order.
	workers []*proc.Process
	// tids are the waiting threads, one per worker, as reported by them.
	tids []int
	// sockets are the listening sockets: one shared, or one per worker
	// under SO_REUSEPORT. The master keeps them to shut them down at the
	// end, which is what tells the workers to report and exit.
	sockets []*sock.Listener
	// lines are the workers' report lines, read from the shared pipe;
	// closed when every worker has closed its end.
	lines chan string
}

// ANCHOR: start
// startPool opens the socket(s) and starts n workers waiting the way s
// says; with busy, worker 0 does not wait until released (see release).
// It returns once every worker has reported the thread it waits on.
func startPool(s strategy, n int, busy bool, output func(pid int) io.Writer) (*pool, error) {
	p := &pool{strategy: s, lines: make(chan string, 2*n)}
	if err := p.listen(n); err != nil {
		return nil, err
	}
	reportR, reportW, err := os.Pipe()
	if err != nil {
		p.closeSockets()
		return nil, err
	}
	go p.read(reportR)
	for i := range n {
		ln := p.sockets[min(i, len(p.sockets)-1)]
		f, err := ln.File() // still blocking: see below
		if err != nil {
			reportW.Close()
			p.stop()
			return nil, err
		}
		w, err := proc.Start(proc.Spec{
			Role:   "waiter",
			Args:   []string{s.Name, strconv.Itoa(i), busyOf(i, busy)},
			Files:  []*os.File{f, reportW},
			Output: output,
		})
		f.Close()
		if err != nil {
			reportW.Close()
			p.stop()
			return nil, err
		}
		p.workers = append(p.workers, w)
	}
	reportW.Close() // the workers have their copies
	if err := p.waitReady(); err != nil {
		p.stop()
		return nil, err
	}
	// O_NONBLOCK belongs to the socket's open file description, shared by
	// every worker, so the master sets it once for all. Only now: a Go
	// process that inherits an fd already non-blocking registers it with
	// its runtime's own epoll (os.NewFile does), which would add a hidden
	// waiter to every worker.
	if s.Nonblock {
		if err := p.sockets[0].SetNonblock(true); err != nil {
			p.stop()
			return nil, err
		}
	}
	return p, nil
}

// ANCHOR_END: start

// listen opens one shared socket, or under SO_REUSEPORT one per worker on
// the same port, all in the master, as nginx's master does for its
// workers: the kernel then keeps one accept queue per socket.
func (p *pool) listen(n int) error {
	if !p.strategy.ReusePort {
		ln, err := sock.Listen("127.0.0.1:0", 1024)
		if err != nil {
			return err
		}
		p.sockets = []*sock.Listener{ln}
		return nil
	}
	addr := "127.0.0.1:0"
	for range n {
		ln, err := sock.ListenReusePort(addr, 1024)
		if err != nil {
			p.closeSockets()
			return err
		}
		p.sockets = append(p.sockets, ln)
		addr = ln.Addr // the others join the first one's port
	}
	return nil
}

// busyOf is worker i's third argument: only worker 0 may be busy.
func busyOf(i int, busy bool) string {
	if i == 0 && busy {
		return "busy"
	}
	return "free"
}

// release ends worker 0's slow request: from now on it waits too.
func (p *pool) release() error {
	return p.workers[0].Signal(syscall.SIGUSR1)
}

// read passes the report lines on until every worker closed the pipe.
func (p *pool) read(r *os.File) {
	defer r.Close()
	lines := bufio.NewScanner(r)
	for lines.Scan() {
		p.lines <- lines.Text()
	}
	close(p.lines)
}

// next returns the next report line whose first word is kind, split in
// numbers: "ready 3 4217" gives [3 4217].
func (p *pool) next(kind string, timeout time.Duration) ([]int, error) {
	deadline := time.After(timeout)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				return nil, fmt.Errorf("a worker exited before it said %q", kind)
			}
			f := strings.Fields(line)
			if len(f) == 0 || f[0] != kind {
				continue
			}
			nums := make([]int, len(f)-1)
			for i, s := range f[1:] {
				v, err := strconv.Atoi(s)
				if err != nil {
					return nil, fmt.Errorf("bad report line %q", line)
				}
				nums[i] = v
			}
			return nums, nil
		case <-deadline:
			return nil, fmt.Errorf("no %q line from the workers within %s", kind, timeout)
		}
	}
}

// waitReady collects each worker's "ready INDEX TID".
func (p *pool) waitReady() error {
	p.tids = make([]int, len(p.workers))
	for range p.workers {
		r, err := p.next("ready", 10*time.Second)
		if err != nil {
			return err
		}
		if len(r) != 2 || r[0] < 0 || r[0] >= len(p.tids) {
			return fmt.Errorf("bad ready line %v", r)
		}
		p.tids[r[0]] = r[1]
	}
	return nil
}

// ANCHOR: settle
// settle waits until every waiting thread is asleep (state S): after a
// connection, the workers it woke have all gone back to waiting, so the
// next connection is an event of its own. It gives up after timeout; a
// late sleeper is still counted, it only blurs two events into one.
func (p *pool) settle(timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for i := 0; i < len(p.workers) && time.Now().Before(deadline); {
		state, err := threadState(p.workers[i].Pid, p.tids[i])
		if err != nil || state == 'S' {
			i++
			continue
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// ANCHOR_END: settle

// sample reads every waiting thread's counters, in index order.
func (p *pool) sample() ([]threadSample, error) {
	s := make([]threadSample, len(p.workers))
	for i, w := range p.workers {
		var err error
		if s[i], err = sampleThread(w.Pid, p.tids[i]); err != nil {
			return nil, fmt.Errorf("worker %d: %w", w.Pid, err)
		}
	}
	return s, nil
}

// connect opens a connection to the pool, reads the answer byte and
// returns which worker took it.
func (p *pool) connect() (int, error) {
	c, err := net.DialTimeout("tcp", p.sockets[0].Addr, 2*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return 0, fmt.Errorf("%s: no worker answered: %w", p.strategy.Name, err)
	}
	if int(b[0]) >= len(p.workers) {
		return 0, fmt.Errorf("answer from worker %d of %d", b[0], len(p.workers))
	}
	return int(b[0]), nil
}

// report is one worker's "done" line.
type report struct{ accepts, returns, wasted int }

// ANCHOR: stop
// finish shuts the sockets down, which makes every accept(2) on them fail
// with EINVAL and every epoll_wait on them return: each worker then writes
// its counts and exits. It returns the counts in index order and reaps the
// workers.
func (p *pool) finish() ([]report, error) {
	for _, ln := range p.sockets {
		ln.Shutdown()
	}
	reports := make([]report, len(p.workers))
	var err error
	for range p.workers {
		var r []int
		if r, err = p.next("done", 5*time.Second); err != nil {
			break
		}
		if len(r) != 4 || r[0] < 0 || r[0] >= len(reports) {
			err = fmt.Errorf("bad done line %v", r)
			break
		}
		reports[r[0]] = report{accepts: r[1], returns: r[2], wasted: r[3]}
	}
	p.stop()
	return reports, err
}

// ANCHOR_END: stop

// stop reaps every worker, killing any that has not exited within a
// second of the sockets' shutdown, and closes the master's sockets.
func (p *pool) stop() {
	for _, ln := range p.sockets {
		ln.Shutdown()
	}
	deadline := time.Now().Add(time.Second)
	for _, w := range p.workers {
		for {
			_, done, err := w.TryWait()
			if done || err != nil {
				break
			}
			if time.Now().After(deadline) {
				w.Signal(syscall.SIGKILL)
				w.Wait()
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	p.workers = nil
	p.closeSockets()
}

func (p *pool) closeSockets() {
	for _, ln := range p.sockets {
		ln.Close()
	}
	p.sockets = nil
}
