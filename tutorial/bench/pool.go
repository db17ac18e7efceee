package bench

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/corofpm/corofpm/tutorial/peer"
)

// Scripts are the PHP files php-fpm runs. They answer what corofpm's Go
// scripts of the same name answer, byte for byte where it matters (the
// hello body), so that both servers send nginx the same response.
var Scripts = map[string]string{
	"hello.php": "<?php\nheader('Content-Type: text/plain');\necho \"" + `Hello from corofpm\n` + "\";\n",
	// Blocking IO: the worker process sits in read() until the upstream answers.
	"upstream.php": "<?php\nheader('Content-Type: text/plain');\necho file_get_contents(getenv('UPSTREAM_URL'));\n",
}

// PoolConfig is what a benchmark asks of an FPM: one pool, pm static.
type PoolConfig struct {
	// Children is pm.max_children.
	Children int
	// Upstream, when set, becomes env[UPSTREAM_URL]: the URL that
	// upstream.php fetches, in php-fpm and in corofpm alike.
	Upstream string
	// Coroutines, for corofpm, makes the workers coroutine workers
	// (worker.model = coroutine) serving that many requests each at once
	// (worker.coroutines); 0 keeps blocking workers, one request each.
	Coroutines int
	// Backlog is listen.backlog; 0 means 511, php-fpm's default. Requests
	// beyond what the workers hold wait in it: more than it holds, and the
	// web server's connects are dropped and retried.
	Backlog int
}

// Pool is an FPM master (php-fpm or corofpm) started by StartPool in the
// foreground, as our child, and owned by the caller until Stop.
type Pool struct {
	// Name says which FPM this is: "php-fpm" or "corofpm".
	Name string
	// Addr is the pool's listening address, 127.0.0.1:PORT.
	Addr string
	// Dir holds fpm.conf, fpm.log, fpm.pid and, for php-fpm, www/.
	Dir string
	// Pid is the master's pid.
	Pid int

	// done is closed when the master has exited and been reaped.
	done chan struct{}
}

// StartPool writes dir/fpm.conf for cfg and runs the FPM program at bin
// (php-fpm8.2 or a corofpm binary) with -F -y: both read the same
// php-fpm.conf syntax, so one file serves both. It returns once the pool's
// port accepts connections and all its children run.
func StartPool(name, bin, dir string, cfg PoolConfig) (*Pool, error) {
	port, err := peer.FreePort()
	if err != nil {
		return nil, err
	}
	p := &Pool{Name: name, Addr: "127.0.0.1:" + strconv.Itoa(port), Dir: dir, done: make(chan struct{})}
	www := filepath.Join(dir, "www")
	if err := os.MkdirAll(www, 0o755); err != nil {
		return nil, err
	}
	for file, text := range Scripts {
		if err := os.WriteFile(filepath.Join(www, file), []byte(text), 0o644); err != nil {
			return nil, err
		}
	}
	conf := fmt.Sprintf(`[global]
pid = %[1]s/fpm.pid
error_log = %[1]s/fpm.log
daemonize = no
process_control_timeout = 5s

[www]
listen = %[2]s
listen.backlog = %[3]d
pm = static
pm.max_children = %[4]d
`, dir, p.Addr, cmp.Or(cfg.Backlog, 511), cfg.Children)
	if cfg.Coroutines > 0 {
		conf += fmt.Sprintf("worker.model = coroutine\nworker.coroutines = %d\n", cfg.Coroutines)
	}
	if cfg.Upstream != "" {
		conf += "env[UPSTREAM_URL] = " + cfg.Upstream + "\n"
	}
	confPath := filepath.Join(dir, "fpm.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	args := []string{"-F", "-y", confPath}
	if name == "php-fpm" {
		args = append(args, "-p", dir)
		if os.Geteuid() == 0 {
			args = append(args, "-R") // php-fpm refuses root without it
		}
	}
	out, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	// In a session of its own, as php-fpm's daemon mode (or a service
	// manager) runs it, so that the CPUs are shared between the FPM,
	// nginx and wrk as between programs (see peer.StartNginx). If the
	// benchmark dies without Stop, the master gets SIGTERM, its fast
	// stop, and takes its children with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: %s: %w", name, err)
	}
	p.Pid = cmd.Process.Pid
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	if err := p.waitReady(cfg.Children); err != nil {
		p.Stop()
		log, _ := os.ReadFile(filepath.Join(dir, "fpm.log"))
		stderr, _ := os.ReadFile(out.Name())
		return nil, fmt.Errorf("bench: %s pid %d on %s: %w\n%s%s", name, p.Pid, p.Addr, err, log, stderr)
	}
	return p, nil
}

// waitReady polls, for at most 15 s, until the port accepts connections
// and the master has its children.
func (p *Pool) waitReady(children int) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if p.Exited() {
			return errors.New("exited during start")
		}
		if kids, _ := p.Workers(); len(kids) >= children {
			if c, err := net.DialTimeout("tcp", p.Addr, 100*time.Millisecond); err == nil {
				c.Close()
				return nil
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return errors.New("not ready after 15 s")
}

// Workers lists the master's live children.
func (p *Pool) Workers() ([]int, error) { return peer.ChildrenOf(p.Pid) }

// Pids lists the master and its live children: the processes whose CPU
// time is the pool's.
func (p *Pool) Pids() []int {
	kids, _ := p.Workers()
	return append([]int{p.Pid}, kids...)
}

// Signal sends sig to the master.
func (p *Pool) Signal(sig syscall.Signal) error { return syscall.Kill(p.Pid, sig) }

// Exited says whether the master has exited (and been reaped).
func (p *Pool) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// WaitExit waits up to timeout for the master to exit.
func (p *Pool) WaitExit(timeout time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// ListenQueue is how many connections wait in the pool's accept queue
// right now, accepted by the kernel but by no worker yet (peer.ListenQueue);
// -1 when it cannot be read.
func (p *Pool) ListenQueue() int {
	n, err := peer.ListenQueue(p.Addr)
	if err != nil {
		return -1
	}
	return n
}

// Stop stops the FPM gracefully (SIGQUIT) and waits up to 10 s; then it
// kills the master and each child it had, by pid. A php-fpm child does not
// die with its master, so they are listed before the master goes.
func (p *Pool) Stop() error {
	if p.Exited() {
		return nil
	}
	kids, _ := p.Workers()
	p.Signal(syscall.SIGQUIT)
	if p.WaitExit(10 * time.Second) {
		return nil
	}
	for _, pid := range kids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	p.Signal(syscall.SIGKILL)
	<-p.done
	return fmt.Errorf("bench: %s pid %d: still running 10 s after SIGQUIT, killed", p.Name, p.Pid)
}
