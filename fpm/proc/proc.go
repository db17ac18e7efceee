// Package proc starts child processes the only way a Go program can: by
// re-executing its own binary.
//
// A C server forks: the child is a copy of the parent at the fork, listening
// socket and all. Go cannot: the runtime runs several threads (the scheduler,
// the garbage collector, the netpoller) and fork(2) copies only the calling
// one, leaving the child's runtime with locks held by threads that no longer
// exist. So a child is this same binary started again (os.Executable) with
// COROFPM_ROLE=<role> in its environment, and what a forked child would have
// inherited - the listening socket, pipes, a shared-memory fd - is passed
// explicitly as extra files: fd 3, 4, ... in the order given.
//
// Every program that starts children calls Main first thing in main: in a
// child, Main runs the role's function and exits; in the parent it returns
// at once. That is also why `go run ./chapters/NN` works: the binary go run
// built is the one re-executed.
package proc

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// Environment variables a parent sets for its child.
const (
	// EnvRole names the role the child plays ("worker", ...).
	EnvRole = "COROFPM_ROLE"
	// EnvLifeline is the fd number of the read end of the lifeline pipe
	// (see Child.watchParent).
	EnvLifeline = "COROFPM_LIFELINE"
	// EnvFiles is how many files the parent passed from fd 3 on.
	EnvFiles = "COROFPM_FILES"
)

// Spec says what child to start.
type Spec struct {
	// Role is the key into the roles given to Main in the child.
	Role string
	// Args are passed to the role in Child.Args (flags, a worker number...).
	Args []string
	// Files are inherited as fd 3, 4, ... in this order: what fork would
	// have shared for free. Start does not close them; the caller may close
	// its copies once the child has started.
	Files []*os.File
	// Env is added to the parent's environment.
	Env []string
	// Stdout and Stderr receive the child's output: a file is inherited
	// as it is, another writer gets the lines through a pipe, nil discards.
	Stdout, Stderr io.Writer
	// Output, when set, receives the child's stdout and stderr together
	// (instead of Stdout and Stderr). It is called once the child's pid is
	// known, so that the writer can tag lines with it: "[worker 4211] ...".
	Output func(pid int) io.Writer
	// Detach starts the child in a session of its own (setsid) with no
	// lifeline, so that it can outlive its parent: a daemon. Its Stdout
	// and Stderr should be nil or files, or Wait waits for every process
	// that inherited the pipe.
	Detach bool
}

// Process is a started child, seen from the parent.
type Process struct {
	// Pid is the child's process id.
	Pid int
	// Role is the role it was started with.
	Role string

	lifeline *os.File      // write end; closing it (or dying) tells the child to exit
	copying  chan struct{} // closed when the copies of the child's output are done
	// reaped is set once wait4 collected the child; atomic because a
	// signal may be sent from another goroutine than the one that waits.
	reaped atomic.Bool
	status Status
}

// Start re-executes this binary as a child playing spec.Role. It is
// fork+exec in one system call sequence (syscall.ForkExec), the way the Go
// runtime can do it safely: the child is a fresh copy of the program, not
// of the parent's memory.
func Start(spec Spec) (*Process, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("proc: cannot find this binary to re-execute: %w", err)
	}
	p := &Process{Role: spec.Role, copying: make(chan struct{})}
	env := append(os.Environ(), EnvRole+"="+spec.Role, EnvFiles+"="+strconv.Itoa(len(spec.Files)))
	env = append(env, spec.Env...)

	// The child's fd table: 0 1 2, then the files, then the lifeline.
	var closeAfter []*os.File // our copies of what only the child needs
	defer func() {
		for _, f := range closeAfter {
			f.Close()
		}
	}()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	closeAfter = append(closeAfter, devnull)
	fds := []uintptr{devnull.Fd()}
	var copies []func()
	var tagged *lateWriter
	outputs := []io.Writer{spec.Stdout, spec.Stderr}
	if spec.Output != nil {
		tagged = &lateWriter{}
		outputs = []io.Writer{tagged}
	}
	for _, w := range outputs {
		f, copyOut, err := outputFile(w, devnull)
		if err != nil {
			return nil, err
		}
		fds = append(fds, f.Fd())
		if copyOut != nil {
			closeAfter = append(closeAfter, f)
			copies = append(copies, copyOut)
		}
	}
	if tagged != nil {
		fds = append(fds, fds[1]) // stderr shares stdout's pipe
	}
	for _, f := range spec.Files {
		fds = append(fds, f.Fd())
	}
	attr := &syscall.SysProcAttr{}
	if spec.Detach {
		attr.Setsid = true
	} else {
		// The lifeline: the child holds the read end, we hold the write end.
		// When we exit, however we exit, the kernel closes our end and the
		// child reads EOF (see watchParent).
		r, w, err := os.Pipe()
		if err != nil {
			return nil, fmt.Errorf("proc: lifeline pipe: %w", err)
		}
		closeAfter = append(closeAfter, r)
		env = append(env, EnvLifeline+"="+strconv.Itoa(len(fds)))
		fds = append(fds, r.Fd())
		p.lifeline = w
	}
	argv := append([]string{self}, spec.Args...)
	pid, err := syscall.ForkExec(self, argv, &syscall.ProcAttr{Env: env, Files: fds, Sys: attr})
	if err != nil {
		if p.lifeline != nil {
			p.lifeline.Close()
		}
		return nil, fmt.Errorf("proc: start %s: %w", spec.Role, err)
	}
	p.Pid = pid
	if tagged != nil {
		tagged.w = spec.Output(pid) // before any copy starts
	}
	go func() {
		for _, c := range copies {
			c()
		}
		close(p.copying)
	}()
	return p, nil
}

// outputFile returns the file a child writes w's output to: w itself when
// it is a file, /dev/null for nil, else a pipe whose read end is copied to
// w by the returned function.
func outputFile(w io.Writer, devnull *os.File) (*os.File, func(), error) {
	switch w := w.(type) {
	case nil:
		return devnull, nil, nil
	case *os.File:
		return w, nil, nil
	}
	r, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("proc: output pipe: %w", err)
	}
	return pw, func() { io.Copy(w, r); r.Close() }, nil
}

// lateWriter is a writer chosen after the fork, when the pid is known.
type lateWriter struct{ w io.Writer }

func (l *lateWriter) Write(p []byte) (int, error) { return l.w.Write(p) }

// Signal sends sig to the child. Once the child is reaped its pid may
// belong to another process, so Signal sends nothing and returns
// os.ErrProcessDone.
func (p *Process) Signal(sig syscall.Signal) error {
	if p.reaped.Load() {
		return os.ErrProcessDone
	}
	return syscall.Kill(p.Pid, sig)
}

// Wait blocks in wait4(2) until the child exits, reaps it, and says how it
// ended. An exit with a non-zero code or by a signal is not an error: it is
// the Status.
func (p *Process) Wait() (Status, error) {
	return p.wait(0)
}

// TryWait reaps the child if it has exited (wait4 with WNOHANG): what a
// master does for each child when SIGCHLD arrives. ok is false while the
// child still runs.
func (p *Process) TryWait() (st Status, ok bool, err error) {
	st, err = p.wait(syscall.WNOHANG)
	return st, err == nil && p.reaped.Load(), err
}

func (p *Process) wait(options int) (Status, error) {
	if p.reaped.Load() {
		return p.status, nil
	}
	var ws syscall.WaitStatus
	var ru syscall.Rusage
	for {
		pid, err := syscall.Wait4(p.Pid, &ws, options, &ru)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return Status{}, fmt.Errorf("proc: wait for %s %d: %w", p.Role, p.Pid, err)
		}
		if pid == 0 { // WNOHANG and still running
			return Status{}, nil
		}
		break
	}
	p.reaped.Store(true)
	p.status = statusOf(ws, &ru)
	if p.lifeline != nil {
		p.lifeline.Close()
	}
	<-p.copying // the child's last lines reach the writer before Wait returns
	return p.status, nil
}

// Status is how a child ended: an exit code, or a signal.
type Status struct {
	// Exited is true when the child called exit; Code is then its code.
	Exited bool
	Code   int
	// Signal is the signal that killed it when Exited is false.
	Signal syscall.Signal
	// CoreDump is set when the kernel wrote a core file.
	CoreDump bool
	// User and System are the CPU time the child used, from wait4's rusage.
	User, System time.Duration
}

func statusOf(ws syscall.WaitStatus, ru *syscall.Rusage) Status {
	s := Status{Exited: true, Code: ws.ExitStatus()}
	if ws.Signaled() {
		s = Status{Signal: ws.Signal(), CoreDump: ws.CoreDump()}
	}
	s.User = time.Duration(ru.Utime.Nano())
	s.System = time.Duration(ru.Stime.Nano())
	return s
}

// String says it the way php-fpm's log does: "exited with code 0" or
// "exited on signal 9 (SIGKILL)".
func (s Status) String() string {
	if s.Exited {
		return fmt.Sprintf("exited with code %d", s.Code)
	}
	core := ""
	if s.CoreDump {
		core = " (core dumped)"
	}
	return fmt.Sprintf("exited on signal %d (%s)%s", int(s.Signal), SignalName(s.Signal), core)
}

// SignalName returns "SIGKILL" for syscall.SIGKILL.
func SignalName(sig syscall.Signal) string {
	if name := signalNames[sig]; name != "" {
		return name
	}
	return "signal " + strconv.Itoa(int(sig))
}

var signalNames = map[syscall.Signal]string{
	syscall.SIGHUP: "SIGHUP", syscall.SIGINT: "SIGINT", syscall.SIGQUIT: "SIGQUIT",
	syscall.SIGILL: "SIGILL", syscall.SIGABRT: "SIGABRT", syscall.SIGBUS: "SIGBUS",
	syscall.SIGFPE: "SIGFPE", syscall.SIGKILL: "SIGKILL", syscall.SIGUSR1: "SIGUSR1",
	syscall.SIGSEGV: "SIGSEGV", syscall.SIGUSR2: "SIGUSR2", syscall.SIGPIPE: "SIGPIPE",
	syscall.SIGALRM: "SIGALRM", syscall.SIGTERM: "SIGTERM", syscall.SIGCHLD: "SIGCHLD",
}
