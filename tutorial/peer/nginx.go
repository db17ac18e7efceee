package peer

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Bounds on how long StartNginx and Stop wait. nginx starts in milliseconds;
// a config error makes it exit at once, so 5 s is only reached when
// something is badly wrong.
const (
	startTimeout = 5 * time.Second
	stopTimeout  = 5 * time.Second
	// portTries is how often StartNginx picks a new free port when the one
	// it picked was taken in between (see FreePort).
	portTries = 3
)

// Nginx is a running nginx master process and its workers, started by
// StartNginx and owned by the caller until Stop.
type Nginx struct {
	// Pid is the master's pid. It is also the process group id: the master
	// and its workers are in a group of their own, so that a forced stop
	// can kill them all with one kill(-Pid) and touch nothing else.
	Pid int
	// Port is the HTTP port on 127.0.0.1.
	Port int
	// Dir is the prefix directory holding nginx.conf and the logs.
	Dir string

	// done is closed once the master has exited and been reaped; waitErr
	// is then its exit status. One goroutine owns the Wait call, so both
	// Stop and a master that dies by itself are noticed the same way.
	done    chan struct{}
	waitErr error

	stopOnce sync.Once
	stopErr  error
}

// StartNginx writes Dir/nginx.conf for cfg and runs
//
//	nginx -p DIR/ -e DIR/error.log -c DIR/nginx.conf -g 'daemon off;'
//
// as a child of this process. "daemon off" keeps the master in the
// foreground, so it stays our child: we can wait for it, reap it and see in
// /proc that it is gone. StartNginx returns once nginx has written its pid
// file and the port accepts TCP connections, or kills nginx and returns an
// error with the tail of error.log if that takes more than 5 s. The workers
// may still be forking then; a connection made meanwhile waits in the
// listening socket's accept queue until one of them takes it.
func StartNginx(cfg NginxConfig) (*Nginx, error) {
	path, err := Look("nginx")
	if err != nil {
		return nil, err
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.Dir, err = filepath.Abs(cfg.Dir); err != nil {
		return nil, fmt.Errorf("peer: nginx dir: %w", err)
	}
	for _, sub := range []string{"www", "temp"} {
		if err := os.MkdirAll(filepath.Join(cfg.Dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("peer: nginx dir: %w", err)
		}
	}
	if cfg.Port != 0 {
		return startNginx(path, cfg)
	}
	for try := 1; ; try++ {
		if cfg.Port, err = FreePort(); err != nil {
			return nil, err
		}
		n, err := startNginx(path, cfg)
		var busy *portBusyError
		if err == nil || !errors.As(err, &busy) || try == portTries {
			return n, err
		}
	}
}

// portBusyError marks a start that failed only because another program took
// the port first, which StartNginx answers by trying another port.
type portBusyError struct{ err error }

func (e *portBusyError) Error() string { return e.err.Error() }
func (e *portBusyError) Unwrap() error { return e.err }

// startNginx is one attempt of StartNginx on cfg.Port.
func startNginx(path string, cfg NginxConfig) (*Nginx, error) {
	conf, err := renderConf(cfg)
	if err != nil {
		return nil, err
	}
	confPath := filepath.Join(cfg.Dir, "nginx.conf")
	if err := os.WriteFile(confPath, conf, 0o644); err != nil {
		return nil, fmt.Errorf("peer: nginx config: %w", err)
	}
	errorLog := filepath.Join(cfg.Dir, "error.log")
	logStart := fileSize(errorLog) // this attempt's lines start here
	pidFile := filepath.Join(cfg.Dir, "nginx.pid")
	os.Remove(pidFile) // a stale one from an earlier run would look like readiness

	// nginx's stdout and stderr go to a file, not a pipe: its workers inherit
	// them, and a pipe would make Wait wait for the workers too.
	out, err := os.OpenFile(filepath.Join(cfg.Dir, "stderr.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("peer: nginx: %w", err)
	}
	defer out.Close() // the child holds its own copy

	cmd := exec.Command(path, "-p", cfg.Dir+"/", "-e", errorLog, "-c", confPath, "-g", "daemon off;")
	cmd.Dir = cfg.Dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// A session (and process group) of its own, as nginx's daemon mode
		// gives itself with setsid: the kernel's autogroup scheduler then
		// shares the CPUs between nginx and the programs beside it as it
		// does between services, not between all their processes at once.
		// It matters: with nginx in the session of the FPM and wrk,
		// blocking FastCGI workers measured a quarter cheaper per request
		// than behind the same nginx run as a daemon.
		Setsid: true,
		// If this process dies without calling Stop (a panic, go test's
		// -timeout), the kernel sends the master SIGTERM, its fast shutdown,
		// which also ends the workers: no nginx outlives the test binary.
		Pdeathsig: syscall.SIGTERM,
	}
	if err := startOnLockedThread(cmd); err != nil {
		return nil, fmt.Errorf("peer: nginx: %w", err)
	}
	n := &Nginx{Pid: cmd.Process.Pid, Port: cfg.Port, Dir: cfg.Dir, done: make(chan struct{})}
	go func() {
		n.waitErr = cmd.Wait()
		close(n.done)
	}()

	if err := n.waitReady(pidFile); err != nil {
		n.kill()
		tail := tailSince(errorLog, logStart, 20)
		if tail == "" {
			tail = tailSince(filepath.Join(cfg.Dir, "stderr.log"), 0, 20)
		}
		err = fmt.Errorf("peer: nginx pid %d on 127.0.0.1:%d: %w; error.log ends:\n%s", n.Pid, n.Port, err, tail)
		if bytes.Contains([]byte(tail), []byte("Address already in use")) {
			return nil, &portBusyError{err}
		}
		return nil, err
	}
	return n, nil
}

// waitReady polls until nginx is serving. The pid file comes first: nginx
// writes it after it has bound its listening sockets, so a connection that
// succeeds after that reaches this nginx and not some other program that
// happens to hold the port.
func (n *Nginx) waitReady(pidFile string) error {
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-n.done:
			return fmt.Errorf("exited during start: %v", n.waitErr)
		default:
		}
		if b, err := os.ReadFile(pidFile); err == nil && string(bytes.TrimSpace(b)) == strconv.Itoa(n.Pid) {
			c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(n.Port), 100*time.Millisecond)
			if err == nil {
				c.Close()
				return nil
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("not accepting connections after %v", startTimeout)
}

// URL is the address of path on this nginx: "http://127.0.0.1:PORT" + path.
func (n *Nginx) URL(path string) string {
	return "http://127.0.0.1:" + strconv.Itoa(n.Port) + path
}

// Stop ends nginx the way an operator does: SIGQUIT, a graceful shutdown in
// which workers finish the requests they hold. If the master is still there
// after 5 s, the whole process group gets SIGKILL. Stop returns once the
// master is reaped; calling it again returns the first result.
//
// The error is non-nil when nginx had to be killed, or when it had already
// exited by itself before Stop: both are worth a test failure.
func (n *Nginx) Stop() error {
	n.stopOnce.Do(func() { n.stopErr = n.stop() })
	return n.stopErr
}

func (n *Nginx) stop() error {
	select {
	case <-n.done:
		n.killOrphans()
		return fmt.Errorf("peer: nginx pid %d: exited before Stop: %v", n.Pid, n.waitErr)
	default:
	}
	syscall.Kill(n.Pid, syscall.SIGQUIT)
	select {
	case <-n.done:
	case <-time.After(stopTimeout):
		n.kill()
		return fmt.Errorf("peer: nginx pid %d: still running %v after SIGQUIT, killed", n.Pid, stopTimeout)
	}
	if n.waitErr != nil {
		// Not the exit status 0 of a graceful shutdown: the master was
		// killed or crashed, perhaps before our SIGQUIT arrived.
		n.killOrphans()
		return fmt.Errorf("peer: nginx pid %d: exit after SIGQUIT: %w", n.Pid, n.waitErr)
	}
	return nil
}

// killOrphans kills what is left of the group of a master that died without
// a graceful shutdown. A graceful master waits for its workers; a killed one
// leaves them running as orphans (nginx workers do not watch their master),
// still holding the port. While any of them lives, the group id cannot be
// reused, so the signal reaches only our nginx.
func (n *Nginx) killOrphans() {
	syscall.Kill(-n.Pid, syscall.SIGKILL)
}

// kill sends SIGKILL to the master's process group and waits for the reap.
// The master is not yet reaped when this is called, so its pid, and with it
// the group id, still belongs to our nginx.
func (n *Nginx) kill() {
	syscall.Kill(-n.Pid, syscall.SIGKILL)
	<-n.done
}

// ErrorLog returns the contents of Dir/error.log, or "" if there is none.
func (n *Nginx) ErrorLog() string {
	b, _ := os.ReadFile(filepath.Join(n.Dir, "error.log"))
	return string(b)
}

// AccessLog returns the contents of Dir/access.log, or "" when the config
// had AccessLog off. nginx writes a request's line in its log phase, after
// the response has gone to the client, so a test that has just read a
// response may not see the line yet; after Stop every line is there.
func (n *Nginx) AccessLog() string {
	b, _ := os.ReadFile(filepath.Join(n.Dir, "access.log"))
	return string(b)
}

// fileSize is the size of the file at path, 0 if it does not exist.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// tailSince returns the last max lines written to path after offset.
func tailSince(path string, offset int64, max int) string {
	b, err := os.ReadFile(path)
	if err != nil || int64(len(b)) < offset {
		return ""
	}
	lines := bytes.Split(bytes.TrimRight(b[offset:], "\n"), []byte("\n"))
	if len(lines) > max {
		lines = lines[len(lines)-max:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
