package coro

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"golang.org/x/sys/unix"
)

// ANCHOR: exec
// Exec runs a command from coroutine c and returns its output and exit
// code, parking c, not the thread, while the command runs: Swoole's
// System::exec, or a hooked shell_exec. A non-zero exit is not an error:
// err is for a command that could not run, died of a signal (exitCode -1)
// or whose coroutine was canceled, in which case the command is killed.
//
// Three fds are polled: the read ends of the stdout and stderr pipes,
// non-blocking, read as hooked Conns until EOF; and a pidfd
// (pidfd_open(2), Linux 5.3), which becomes readable when the process
// exits. The pidfd keeps the whole wait in the one epoll set, with no
// goroutine and no SIGCHLD handler, and it names this very process: a pid
// could be reaped and reused, a pidfd cannot be confused. Once it is
// readable, Wait reaps at once.
func Exec(c *Co, p *Poller, name string, args ...string) (stdout, stderr []byte, exitCode int, err error) {
	cmd := exec.Command(name, args...)
	outR, outW, err := pipe()
	if err != nil {
		return nil, nil, -1, fmt.Errorf("coro: exec %s: %w", name, err)
	}
	errR, errW, err := pipe()
	if err != nil {
		unix.Close(outR)
		outW.Close()
		return nil, nil, -1, fmt.Errorf("coro: exec %s: %w", name, err)
	}
	cmd.Stdout, cmd.Stderr = outW, errW // *os.File: the child gets them as fds 1 and 2
	err = cmd.Start()
	outW.Close() // the child holds the write ends now; EOF comes when it closes them
	errW.Close()
	if err != nil {
		unix.Close(outR)
		unix.Close(errR)
		return nil, nil, -1, fmt.Errorf("coro: exec %s: %w", name, err)
	}
	ex := &execution{cmd: cmd}
	defer ex.close()
	if err := ex.hook(c, p, outR, errR); err != nil {
		return nil, nil, -1, err
	}
	// stderr is read by a helper coroutine, so that a command filling one
	// pipe while the other is being read cannot deadlock.
	var errBuf bytes.Buffer
	var errErr error
	helper, err := c.Go(func(c *Co) { _, errErr = io.Copy(&errBuf, ex.stderr) })
	if err != nil {
		return nil, nil, -1, ex.kill(fmt.Errorf("coro: exec %s: %w", name, err))
	}
	var outBuf bytes.Buffer
	_, err = io.Copy(&outBuf, ex.stdout)
	if err == nil {
		err = c.Join(helper, Forever)
	}
	if err == nil {
		err = errErr
	}
	if err == nil {
		err = ex.exited(c)
	}
	if err != nil {
		return outBuf.Bytes(), errBuf.Bytes(), -1, ex.kill(fmt.Errorf("coro: exec %s: %w", name, err))
	}
	code, err := ex.status()
	return outBuf.Bytes(), errBuf.Bytes(), code, err
}

// ANCHOR_END: exec

// execution is one running command's hooked fds.
type execution struct {
	cmd            *exec.Cmd
	stdout, stderr *Conn
	// pidfd refers to the process itself; readable once it has exited.
	pidfd *Conn
	// reaped is set once Wait has collected the exit status.
	reaped bool
}

// pipe returns a close-on-exec pipe: the read end as a plain fd, for a
// Conn (Go's runtime poller never sees it), the write end as an *os.File,
// which Start dups into the child.
func pipe() (r int, w *os.File, err error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return -1, nil, fmt.Errorf("pipe2: %w", err)
	}
	return fds[0], os.NewFile(uintptr(fds[1]), "|1"), nil
}

// hook turns the pipes' read ends and a pidfd into Conns on p; they own
// the fds from then on, even on failure.
func (ex *execution) hook(c *Co, p *Poller, outR, errR int) error {
	pid := ex.cmd.Process.Pid
	var err error
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		pidfd = -1
		err = fmt.Errorf("coro: exec: pidfd_open %d: %w", pid, err)
	}
	hooks := []struct {
		fd   int
		conn **Conn
		name string
	}{{outR, &ex.stdout, "stdout"}, {errR, &ex.stderr, "stderr"}, {pidfd, &ex.pidfd, "pidfd"}}
	for _, h := range hooks {
		if h.fd < 0 {
			continue
		}
		conn, herr := NewConn(c.s, p, h.fd, fmt.Sprintf("%s of pid %d", h.name, pid))
		if herr != nil {
			unix.Close(h.fd)
			err = cmp.Or(err, herr)
			continue
		}
		*h.conn = conn
	}
	return err
}

// exited parks until the pidfd is readable (the process is a zombie),
// then reaps it: Wait no longer blocks.
func (ex *execution) exited(c *Co) error {
	for {
		var info unix.Siginfo
		// waitid(P_PIDFD, WNOHANG|WNOWAIT) peeks without reaping: info
		// stays zero while the process runs, and says SIGCHLD once it
		// has exited.
		err := unix.Waitid(unix.P_PIDFD, ex.pidfd.fd, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("waitid: %w", err)
		}
		if info.Signo != 0 {
			break
		}
		if err := ex.pidfd.wait(&ex.pidfd.reader, &ex.pidfd.rtok, false, time.Time{}); err != nil {
			return err
		}
	}
	ex.reaped = true
	// Wait reaps. A non-zero status is an *exec.ExitError to it, and a
	// result to Exec.
	if err := ex.cmd.Wait(); err != nil && !errors.As(err, new(*exec.ExitError)) {
		return err
	}
	return nil
}

// status is the exit code, or an error for a death by signal.
func (ex *execution) status() (int, error) {
	code := ex.cmd.ProcessState.ExitCode()
	if code < 0 {
		return -1, fmt.Errorf("coro: exec %s: %s", ex.cmd.Path, ex.cmd.ProcessState)
	}
	return code, nil
}

// kill ends a command whose coroutine gave up on it, and reaps it: no
// zombie is left behind.
func (ex *execution) kill(err error) error {
	if !ex.reaped {
		ex.cmd.Process.Kill()
		ex.cmd.Wait()
		ex.reaped = true
	}
	return err
}

func (ex *execution) close() {
	for _, c := range []*Conn{ex.stdout, ex.stderr, ex.pidfd} {
		if c != nil && c.fd >= 0 {
			c.Close()
		}
	}
	if !ex.reaped {
		ex.kill(nil)
	}
}
