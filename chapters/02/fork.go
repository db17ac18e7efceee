package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/net/sock"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"golang.org/x/sys/unix"
)

// threadsSeen is what step 1 measured.
type threadsSeen struct {
	AtStart int // threads of this process when the step began
	Blocked int // goroutines then put to sleep in read(2)
	While   int // most threads seen while they slept
}

// ANCHOR: threads
// showThreads counts this process's threads, then blocks a few goroutines
// in read(2) on a pipe and counts again: a goroutine in a blocking system
// call holds an OS thread, and the runtime starts others to go on running
// Go code. fork(2) would copy only the thread that called it.
func showThreads(n *narrator.Narrator) (threadsSeen, error) {
	s := threadsSeen{Blocked: 4}
	pid := os.Getpid()
	var err error
	if s.AtStart, err = threadCount(pid); err != nil {
		return s, err
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil { // blocking, outside the netpoller
		return s, fmt.Errorf("pipe2: %w", err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	var wg sync.WaitGroup
	for range s.Blocked {
		wg.Go(func() {
			b := make([]byte, 1)
			for {
				if _, err := unix.Read(p[0], b); err != unix.EINTR {
					return
				}
			}
		})
	}
	for start := time.Now(); time.Since(start) < 500*time.Millisecond && s.While < s.AtStart+s.Blocked; {
		time.Sleep(5 * time.Millisecond)
		t, err := threadCount(pid)
		if err != nil {
			return s, err
		}
		s.While = max(s.While, t)
	}
	tids, _ := threadIDs(pid)
	unix.Write(p[1], make([]byte, s.Blocked)) // one byte wakes each reader
	wg.Wait()
	// ANCHOR_END: threads

	t := n.Table("pid "+strconv.Itoa(pid), "threads (/proc/self/status)")
	t.Row("now", s.AtStart)
	t.Row(fmt.Sprintf("with %d goroutines blocked in read(2)", s.Blocked), s.While)
	t.Print()
	n.Detail("thread ids (/proc/%d/task): %v", pid, tids)
	n.Say(`GOMAXPROCS is %d, yet the process has %d threads: the runtime keeps threads for
the scheduler, the garbage collector and its sysmon watchdog, and one for every
goroutine asleep in a system call. fork(2) copies only the calling thread: the
child would wake with one thread, and the %d others would be gone mid-step, with
whatever lock they held held forever. So Go has no os.Fork; syscall.ForkExec
forks only to exec at once.`, runtime.GOMAXPROCS(0), s.While, s.While-1)
	return s, nil
}

// greeting is what step 2 measured.
type greeting struct {
	Self      string            // os.Executable: the binary re-executed
	Pids      []int             // the two greeters
	PipeLines []string          // what they wrote on the pipe, as read here
	Env       map[string]string // COROFPM_* of the first, from /proc/PID/environ
	Threads   int               // threads of the first, a runtime of its own
	Fds       []fdEntry         // the first one's fd table
	Pipe      string            // the pipe and the socket as /proc/self/fd
	Socket    string            // names them: "pipe:[inode]", "socket:[inode]"
	Answers   []string          // what each connection the chapter made got
	Statuses  []proc.Status
}

// showReexec starts two greeters that inherit one pipe and one listening
// socket, shows the first one's fd table as the kernel sees it, and
// connects twice: each connection is accepted by one of them.
func showReexec(n *narrator.Narrator) (g greeting, err error) {
	if g.Self, err = os.Executable(); err != nil {
		return g, err
	}
	n.Say("instead, start this binary again (%s)\nwith COROFPM_ROLE=greeter, and pass what the child needs as numbered fds", g.Self)
	ln, err := sock.Listen("127.0.0.1:0", 8)
	if err != nil {
		return g, err
	}
	defer ln.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return g, fmt.Errorf("pipe: %w", err)
	}
	defer r.Close()
	if g.Pipe, err = fdTarget(r.Fd()); err == nil {
		g.Socket, err = fdTarget(uintptr(ln.FD))
	}
	if err != nil {
		w.Close()
		return g, err
	}
	n.Say("socket %s (fd %d, listening on %s) and pipe %s (fds %d, %d)", g.Socket, ln.FD, ln.Addr, g.Pipe, r.Fd(), w.Fd())
	kids, err := startGreeters(n, ln, w)
	defer killAll(kids)
	if err != nil {
		return g, err
	}
	for _, c := range kids {
		g.Pids = append(g.Pids, c.Pid)
	}
	// The greeters write on the pipe once their role runs: reading their
	// lines is also waiting until both are up.
	if g.PipeLines, err = readLines(r, len(kids), 5*time.Second); err != nil {
		return g, fmt.Errorf("reading the greeters' pipe: %w", err)
	}
	for _, line := range g.PipeLines {
		n.Say("read on the pipe (our fd %d): %q", r.Fd(), line)
	}
	if err := inspect(n, kids[0], &g, ln.Addr); err != nil {
		return g, err
	}
	if err := connectEach(n, ln.Addr, &g); err != nil {
		return g, err
	}
	for _, c := range kids {
		st, err := c.Wait()
		if err != nil {
			return g, err
		}
		g.Statuses = append(g.Statuses, st)
	}
	return g, nil
}

// ANCHOR: start-greeters
// startGreeters starts two children with the pipe's write end as fd 3 and
// the listening socket as fd 4, then closes our copies of what only the
// children need, so that the pipe reaches EOF once they are done with it.
func startGreeters(n *narrator.Narrator, ln *sock.Listener, w *os.File) ([]*proc.Process, error) {
	defer w.Close()
	socket, err := ln.File() // a dup(2) of the listening fd, for the children
	if err != nil {
		return nil, err
	}
	defer socket.Close()
	var kids []*proc.Process
	for range 2 {
		c, err := proc.Start(proc.Spec{
			Role:   "greeter",
			Files:  []*os.File{w, socket},
			Output: shown(n, "greeter"),
		})
		if err != nil {
			return kids, err
		}
		kids = append(kids, c)
	}
	return kids, nil
}

// ANCHOR_END: start-greeters

// inspect reads a child's environment, threads and fd table from /proc
// and prints the table with each fd named.
func inspect(n *narrator.Narrator, c *proc.Process, g *greeting, addr string) error {
	var err error
	if g.Env, err = environ(c.Pid, "COROFPM_"); err != nil {
		return err
	}
	if g.Threads, err = threadCount(c.Pid); err != nil {
		return err
	}
	if g.Fds, err = fdTable(c.Pid); err != nil {
		return err
	}
	ours, err := shared()
	if err != nil {
		return err
	}
	n.Say("greeter %d: a fresh runtime with %d threads of its own, started with %s",
		c.Pid, g.Threads, envLine(g.Env))
	lifeline, _ := strconv.Atoi(g.Env[proc.EnvLifeline])
	files := []string{"Files[0]: the pipe, write end", "Files[1]: the listening socket " + addr}
	t := n.Table("fd", fmt.Sprintf("readlink /proc/%d/fd/N", c.Pid), "ours", "what it is")
	for i := range g.Fds {
		e := &g.Fds[i]
		if fd, ok := ours[e.Target]; ok {
			e.Ours = fd
		}
		here, _ := fdTarget(uintptr(e.Fd))
		e.What = nameFd(e.Fd, e.Target, files, lifeline, here == e.Target)
		our := ""
		if e.Ours >= 0 {
			our = fmt.Sprintf("fd %d", e.Ours)
		}
		t.Row(e.Fd, e.Target, our, e.What)
	}
	t.Print()
	n.Say(`"ours" is the fd under which this process holds the same pipe or socket
(same inode): one kernel object, open in two processes. Only what Spec.Files
listed was placed at 3, 4...; an fd of ours opened without close-on-exec
would have slipped through too, at its own number.`)
	return nil
}

// nameFd says what a child's fd is for: stdio, one of the Files in order
// from fd 3, the lifeline named in its environment, an fd its own runtime
// opened, or one of ours that leaked through exec(2) because it lacked
// close-on-exec: then the parent holds the same file at the same number
// (sameHere).
func nameFd(fd int, target string, files []string, lifeline int, sameHere bool) string {
	switch {
	case fd == 0:
		return "stdin: /dev/null"
	case fd < 3:
		return []string{"", "stdout", "stderr"}[fd] + ": a pipe the chapter reads and tags"
	case fd-3 < len(files):
		return files[fd-3]
	case fd == lifeline:
		return "the lifeline (" + proc.EnvLifeline + "=" + strconv.Itoa(fd) + ")"
	case strings.HasPrefix(target, "/sys/fs/cgroup/"):
		return "its runtime reads the CPU quota (GOMAXPROCS)"
	case target == "anon_inode:[eventpoll]":
		return "its runtime's netpoller (epoll)"
	case target == "anon_inode:[eventfd]", target == "anon_inode:[pidfd]":
		return "its runtime's"
	case sameHere:
		return "leaked: ours at the same fd, not close-on-exec"
	}
	return ""
}

// envLine prints the COROFPM_ variables in a stable order.
func envLine(env map[string]string) string {
	var kv []string
	for _, k := range []string{proc.EnvRole, proc.EnvFiles, proc.EnvLifeline} {
		if v, ok := env[k]; ok {
			kv = append(kv, k+"="+v)
		}
	}
	return strings.Join(kv, " ")
}

// connectEach makes one connection per greeter and reads its answer.
func connectEach(n *narrator.Narrator, addr string, g *greeting) error {
	for range g.Pids {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return err
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(c)
		c.Close()
		if err != nil {
			return fmt.Errorf("reading from %s: %w", addr, err)
		}
		g.Answers = append(g.Answers, strings.TrimSpace(string(b)))
		n.Say("connected from %s: %q", c.LocalAddr(), g.Answers[len(g.Answers)-1])
	}
	return nil
}

// readLines reads count lines from r within timeout.
func readLines(r *os.File, count int, timeout time.Duration) ([]string, error) {
	r.SetReadDeadline(time.Now().Add(timeout))
	defer r.SetReadDeadline(time.Time{})
	br := bufio.NewReader(r)
	var lines []string
	for range count {
		line, err := br.ReadString('\n')
		if err != nil {
			return lines, err
		}
		lines = append(lines, strings.TrimSuffix(line, "\n"))
	}
	return lines, nil
}
