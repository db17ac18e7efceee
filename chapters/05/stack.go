package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/corofpm/corofpm/tutorial/fpmrun"
	"github.com/corofpm/corofpm/tutorial/peer"
)

// stack is an FPM (master and workers, children of this process) behind an
// nginx whose fastcgi_pass points at the pool's socket.
type stack struct {
	fpm *fpmrun.FPM
	ngx *peer.Nginx
	// stopped makes stop safe to call twice (deferred, and at the end).
	stopped bool
	// reaped is set once the master has been waited for: its pid may
	// then belong to another process, which stop must not signal.
	reaped bool
}

// startStack starts the chapter's pool in dir/name and an nginx in front
// of it.
func startStack(dir, name string) (*stack, error) {
	d := filepath.Join(dir, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return nil, err
	}
	f, err := fpmrun.Start(d, pool, nil)
	if err != nil {
		return nil, err
	}
	ngx, err := peer.StartNginx(peer.NginxConfig{Dir: filepath.Join(d, "nginx"), FastCGI: f.Addr})
	if err != nil {
		f.Kill()
		return nil, err
	}
	return &stack{fpm: f, ngx: ngx}, nil
}

// stop stops the FPM gracefully (SIGQUIT) and then nginx, and checks that
// no worker outlived its master.
func (s *stack) stop() error {
	if s.stopped {
		return nil
	}
	s.stopped = true
	var err error
	var workers []int
	if !s.reaped {
		workers, _ = s.fpm.Workers()
		_, err = s.fpm.Stop(10 * time.Second)
	}
	err = errors.Join(err, s.ngx.Stop())
	for _, pid := range workers {
		if alive(pid) {
			err = errors.Join(err, fmt.Errorf("worker %d outlived its master", pid))
		}
	}
	return err
}

// masterPid is the pid the master wrote to its pid file: after a reload,
// the pid of the new program, which is the same process.
func (s *stack) masterPid() int {
	var pid int
	b, _ := os.ReadFile(filepath.Join(s.fpm.Dir, "fpm.pid"))
	fmt.Sscan(string(b), &pid)
	return pid
}

// slot is one worker as the status page shows it (?json&full).
type slot struct {
	PID   int    `json:"pid"`
	State string `json:"state"`
	URI   string `json:"request uri"`
}

// slots reads the status page straight from the pool (not through nginx):
// every worker's scoreboard slot. A worker is "Idle" once it is blocked in
// accept(2); the one serving this request shows "Running".
func (s *stack) slots() ([]slot, error) {
	resp, err := s.fpm.Get("/status", "json&full")
	if err != nil {
		return nil, err
	}
	var page struct {
		Processes []slot `json:"processes"`
	}
	if err := json.Unmarshal(resp.Body, &page); err != nil {
		return nil, fmt.Errorf("status page: %w", err)
	}
	return page.Processes, nil
}

// waitFor polls cond every 2 ms until it holds, for at most timeout, and
// returns when it first held.
func waitFor(timeout time.Duration, what string, cond func() bool) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%s: not after %s", what, timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// get does one GET through nginx and returns the status, 0 for no answer.
func get(client *http.Client, url string) int {
	resp, err := client.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0
	}
	return resp.StatusCode
}

// fmtPids is a list of pids for a table cell: "4211 4212 4213".
func fmtPids(pids []int) string { return strings.Trim(fmt.Sprint(pids), "[]") }

// alive reports whether process pid exists and is not a zombie.
func alive(pid int) bool {
	state, err := procState(pid)
	return err == nil && state != 'Z'
}
