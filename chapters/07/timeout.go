package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/corofpm/corofpm/tutorial/fpmrun"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/corofpm/corofpm/tutorial/peer"
)

// ANCHOR: timeouts
// timeoutPool has a script stuck for longer than the pool allows: the
// slowlog gets its stack after 1 s, the master kills its worker after 2.
const timeoutPool = `pm = static
pm.max_children = 1
request_slowlog_timeout = 1s
request_terminate_timeout = 2s
slowlog = slow.log
`

// stuck is the request: a script that would sleep 5 s.
const stuck = "/sleep.php?ms=5000"

// ANCHOR_END: timeouts

// timeoutResult is what step 5 measured.
type timeoutResult struct {
	Status int           // what nginx answered the stuck request
	Took   time.Duration // and after how long
	// Before and After are the pool's worker before and after.
	Before, After []int
	// Next is the status of the next request, served by the replacement.
	Next int
	// Log is the master's lines about the request and the workers;
	// NginxLog what nginx's error log says of the 502.
	Log      []string
	NginxLog string
	Slowlog  string
}

// measureTimeout sends the stuck request through nginx to a pool with
// both request timeouts set, then one more request.
func measureTimeout(dir string) (res timeoutResult, err error) {
	fdir, err := subdir(dir, "fpm-timeout")
	if err != nil {
		return res, err
	}
	f, err := fpmrun.Start(fdir, timeoutPool, nil)
	if err != nil {
		return res, err
	}
	defer f.Stop(10 * time.Second)
	ngx, err := peer.StartNginx(peer.NginxConfig{Dir: filepath.Join(dir, "nginx-timeout"), FastCGI: f.Addr})
	if err != nil {
		return res, err
	}
	defer ngx.Stop()
	if res.Before, err = f.Workers(); err != nil {
		return res, err
	}
	client := &http.Client{Timeout: 10 * time.Second}
	t0 := time.Now()
	res.Status, err = status(client, ngx.URL(stuck))
	res.Took = time.Since(t0)
	if err != nil {
		return res, err
	}
	// The replacement is started when the master reaps the killed worker.
	for _, text := range []string{"exited on signal", "started"} {
		if _, err := f.WaitLog(text, 10*time.Second); err != nil {
			return res, err
		}
	}
	if res.Next, err = status(client, ngx.URL("/hello.php")); err != nil {
		return res, err
	}
	if res.After, err = f.Workers(); err != nil {
		return res, err
	}
	res.Log = workerLines(f.LogText())
	// 2026/11/25 10:19:40 [error] 18754#18754: *2 upstream prematurely
	// closed connection while reading response header from upstream,
	// client: 127.0.0.1, ...: the words between "*2 " and ", client".
	for _, line := range logLines(ngx.ErrorLog(), "upstream") {
		_, msg, _ := strings.Cut(line, "*")
		_, msg, _ = strings.Cut(msg, " ")
		msg, _, _ = strings.Cut(msg, ", client")
		res.NginxLog = msg
	}
	slow, err := os.ReadFile(filepath.Join(fdir, "slow.log"))
	res.Slowlog = string(slow)
	return res, err
}

// status GETs url and returns the HTTP status.
func status(client *http.Client, url string) (int, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// stuckFrames returns the slowlog's head and the stack of the goroutine
// that runs the script, down to the script's own frame.
func stuckFrames(slowlog string) []string {
	entry := strings.TrimSpace(slowlog)
	head, stacks, _ := strings.Cut(entry, "\ngoroutine ")
	lines := strings.Split(head, "\n")
	for _, g := range strings.Split("goroutine "+stacks, "\n\n") {
		if !strings.Contains(g, "script.Sleep") {
			continue
		}
		frames := strings.Split(g, "\n")
		end := slices.IndexFunc(frames, func(l string) bool { return strings.Contains(l, "script.Sleep") })
		return append(lines, frames[:min(end+2, len(frames))]...)
	}
	return lines
}

func showTimeout(n *narrator.Narrator, r timeoutResult) {
	n.Say("a pool of one worker with")
	for _, line := range strings.Split(strings.TrimSpace(timeoutPool), "\n")[2:] {
		n.Say("  %s", line)
	}
	n.Say("GET %s through nginx: %d after %.1f s (the script wanted 5 s)", stuck, r.Status, r.Took.Seconds())
	n.Say("nginx's error log: %s", r.NginxLog)
	n.Say("the master's log:")
	for _, line := range r.Log {
		n.Say("  %s", line)
	}
	n.Say("worker %v before, %v after; the next request got %d from the replacement", r.Before, r.After, r.Next)
	n.Say("the slowlog, written by the worker itself at 1 s (its head, then the stuck goroutine):")
	for _, line := range stuckFrames(r.Slowlog) {
		n.Say("  %s", line)
	}
	n.Say("php-fpm's master ptrace()s the worker to read its PHP stack; a Go worker can")
	n.Say("read its own with runtime.Stack, so a timer in the worker writes the entry")
}
