package main

import (
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/corofpm/corofpm/tutorial/load"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

// reloadResult is what step 5 measured.
type reloadResult struct {
	// MasterBefore and MasterAfter are the pid file's pid; Running says
	// the master, our child, never exited: it exec'd itself.
	MasterBefore, MasterAfter int
	Running                   bool
	Before, After             []int
	Load                      load.Result
	// Lines are the master's log lines of the reload.
	Lines []string
}

// Failed counts the requests that got no 200.
func (r *reloadResult) Failed() int {
	failed := 0
	for status, k := range r.Load.Status {
		if status != 200 {
			failed += k
		}
	}
	return failed
}

// Requests counts every request that got an outcome.
func (r *reloadResult) Requests() int {
	total := 0
	for _, k := range r.Load.Status {
		total += k
	}
	return total
}

func reloadStep(n *narrator.Narrator, s *stack, cfg settings) (res reloadResult, err error) {
	if res.Before, err = idleWorkers(s, 4); err != nil {
		return res, err
	}
	res.MasterBefore = s.masterPid()
	url := s.ngx.URL(fmt.Sprintf("/sleep.php?ms=%d", cfg.sleep.Milliseconds()))
	n.Say("%d clients in a closed loop on %s for %s; kill -USR2 %d after %s",
		cfg.clients, url, cfg.window, res.MasterBefore, (cfg.window / 3).Round(100*time.Millisecond))
	loaded := make(chan load.Result, 1)
	go func() { loaded <- load.Closed(url, cfg.clients, cfg.window) }()
	time.Sleep(cfg.window / 3)
	from := len(s.fpm.LogText())
	err = reload(s)
	res.Load = <-loaded
	if err != nil {
		return res, err
	}
	if res.After, err = idleWorkers(s, 4); err != nil {
		return res, err
	}
	res.MasterAfter = s.masterPid()
	_, exited, _ := s.fpm.Master.TryWait()
	res.Running = !exited
	keys := []string{"Reloading in progress", "execvp", "using inherited socket", "fpm is running", "ready to handle"}
	for _, line := range strings.Split(strings.TrimSpace(s.fpm.LogText()[from:]), "\n") {
		if slices.ContainsFunc(keys, func(key string) bool { return strings.Contains(line, key) }) {
			res.Lines = append(res.Lines, line)
			n.From("master", res.MasterAfter, "%s", shorten(line))
		} else {
			n.Detail("%s", line) // the workers' exits and starts
		}
	}
	t := n.Table("", "before", "after")
	t.Row("master pid", res.MasterBefore, res.MasterAfter)
	t.Row("worker pids", fmtPids(res.Before), fmtPids(res.After))
	t.Print()
	t = n.Table("requests", "failed", "median", "p99", "longest")
	t.Row(res.Requests(), res.Failed(), res.Load.Percentile(0.5), res.Load.Percentile(0.99), res.Load.Percentile(1))
	t.Print()
	n.Say("the same master pid: it exec'd itself and inherited the socket; all new workers; nothing refused: while no worker")
	n.Say("accepted, connections waited in the socket's backlog, and the longest request, against the median, shows that wait")
	return res, nil
}

// ANCHOR: reload
// reload sends SIGUSR2 and waits for the master to come back: the old
// workers finish their requests and exit, the master exec(2)s its own
// program with the listening socket's fd left open, and the new master
// finds it by the environment, starts new workers and logs it is ready.
func reload(s *stack) error {
	if err := s.fpm.Signal(syscall.SIGUSR2); err != nil {
		return err
	}
	if _, err := s.fpm.WaitLog("using inherited socket "+s.fpm.Addr, 10*time.Second); err != nil {
		return err
	}
	_, err := s.fpm.WaitLog("ready to handle connections", 10*time.Second)
	return err
}

// ANCHOR_END: reload

// shorten cuts the execvp line's arguments (the program's path and the
// configuration file), which are long and say nothing here.
func shorten(line string) string {
	if i := strings.Index(line, "execvp("); i >= 0 {
		return line[:i] + "execvp(…)"
	}
	return line
}
