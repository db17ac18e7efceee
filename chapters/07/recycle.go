package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/corofpm/corofpm/tutorial/fpmrun"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

// recycleResult is what step 4 measured.
type recycleResult struct {
	MaxRequests int
	// Pids is the worker that served each request, in order, from the
	// access log's %p.
	Pids []int
	// Log is what the master logged about its workers meanwhile.
	Log []string
}

// stretch is requests served one after the other by one worker.
type stretch struct{ Pid, From, To int }

// stretches groups Pids by worker.
func (r recycleResult) stretches() []stretch {
	var out []stretch
	for i, pid := range r.Pids {
		if len(out) == 0 || out[len(out)-1].Pid != pid {
			out = append(out, stretch{Pid: pid, From: i + 1})
		}
		out[len(out)-1].To = i + 1
	}
	return out
}

// measureRecycle sends requests one after the other to a pool of one
// worker with pm.max_requests set, and reads who served each.
func measureRecycle(dir string, cfg settings) (res recycleResult, err error) {
	res.MaxRequests = cfg.maxRequests
	fdir, err := subdir(dir, "fpm-recycle")
	if err != nil {
		return res, err
	}
	pool := fmt.Sprintf("pm = static\npm.max_children = 1\npm.max_requests = %d\n"+
		"access.log = access.log\naccess.format = \"%%p %%m %%r %%s\"\n", cfg.maxRequests)
	f, err := fpmrun.Start(fdir, pool, nil)
	if err != nil {
		return res, err
	}
	for range cfg.recycled {
		if _, err := f.Get("/hello.php", ""); err != nil {
			f.Kill()
			return res, err
		}
	}
	// A graceful stop lets the last worker write its last line.
	if _, err := f.Stop(10 * time.Second); err != nil {
		return res, err
	}
	res.Log = workerLines(f.LogText())
	access, err := os.ReadFile(filepath.Join(fdir, "access.log"))
	if err != nil {
		return res, err
	}
	for _, line := range strings.Split(strings.TrimSpace(string(access)), "\n") {
		pid, err := strconv.Atoi(strings.Fields(line)[0])
		if err != nil {
			return res, fmt.Errorf("access log line %q: %w", line, err)
		}
		res.Pids = append(res.Pids, pid)
	}
	return res, nil
}

// workerLines are the master's lines about workers between "ready to
// handle connections" and the end of serving.
func workerLines(log string) []string {
	_, log, _ = strings.Cut(log, "ready to handle connections\n")
	log, _, _ = strings.Cut(log, "Finishing ...")
	return logLines(log, "child")
}

func showRecycle(n *narrator.Narrator, r recycleResult) {
	n.Say("one worker (pm = static, pm.max_children = 1); %d requests for /hello.php, one after", len(r.Pids))
	n.Say("the other; the access log's %%p says which worker served each:")
	t := n.Table("requests", "served by pid", "count")
	for _, s := range r.stretches() {
		t.Row(fmt.Sprintf("%d-%d", s.From, s.To), s.Pid, s.To-s.From+1)
	}
	t.Print()
	n.Say("the master's log meanwhile:")
	for _, line := range r.Log {
		n.Say("  %s", line)
	}
	n.Say("after its %dth request the worker exits with code 0, and the manager starts another:", r.MaxRequests)
	n.Say("php-fpm's cure for a script that leaks memory, paid with a process start every %d requests", r.MaxRequests)
}
