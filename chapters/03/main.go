// Chapter 03: pre-fork. A master opens the listening socket and starts N
// worker processes that each block in accept(2) on it (php-fpm's pm =
// static). With a script that waits on a slow upstream, throughput is
// workers / latency, whatever the number of clients; past that, requests
// queue in the kernel's backlog and nginx answers 502 or 504.
package main

import (
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/load"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/corofpm/corofpm/tutorial/peer"
)

var info = chapter.Info{
	Number: "03",
	Title:  "Pre-fork: N blocking workers on one socket",
	About: `The master opens a listening socket and starts N worker processes (this
binary, re-executed) that each block in accept(2) on it: php-fpm's pm = static.
nginx sends them /upstream.php, a script that waits on a slow upstream. The
chapter measures throughput for N = 1, 2, 4, 8 under the same load and prints
it beside the ceiling N / latency, then sends a crowd to a pool with a tiny
backlog and counts what nginx answers.`,
	DefaultListen: "127.0.0.1:9003",
}

// workers is -workers, the pool size for -serve.
var workers = flag.Int("workers", 4, "with -serve: how many worker processes (pm.max_children)")

func main() {
	proc.Main(map[string]func(*proc.Child) error{"worker": workerMain})
	chapter.Main(info, func(n *narrator.Narrator, opts *chapter.Options) error {
		_, err := run(n, opts)
		return err
	}, serve)
}

// settings are the figures of one run; -quick shrinks them.
type settings struct {
	latency time.Duration // the upstream's reply delay
	window  time.Duration // how long each load runs
	clients int           // concurrent clients in the closed loop
	sizes   []int         // pool sizes measured
	crowd   int           // requests in the burst of step 3
}

func settingsFor(quick bool) settings {
	if quick {
		return settings{latency: 200 * time.Millisecond, window: 1200 * time.Millisecond, clients: 16, sizes: []int{1, 2, 4, 8}, crowd: 24}
	}
	return settings{latency: 500 * time.Millisecond, window: 4 * time.Second, clients: 16, sizes: []int{1, 2, 4, 8}, crowd: 24}
}

// round is one pool size under load.
type round struct {
	Workers int
	Result  load.Result
	Ceiling float64 // workers / latency, in requests per second
}

// result is what one run measured, for the chapter's test.
type result struct {
	Settings settings
	Rounds   []round
	Crowd    load.Result // step 3: the burst at a pool with a tiny backlog
	Backlog  int
	Pool     int // workers in step 3
}

// startUpstream starts the slow upstream: an HTTP server in this process
// that answers "ok" after delay, like a remote API or a slow query.
func startUpstream(delay time.Duration) (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		io.WriteString(w, "ok")
	})}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/", func() { srv.Close() }, nil
}

// tagger returns the output of a worker, tagged with its pid, for -v; else
// it is discarded.
func tagger(n *narrator.Narrator) func(pid int) io.Writer {
	return func(pid int) io.Writer {
		if !n.Verbose() {
			return io.Discard
		}
		return n.Tagged("worker", pid)
	}
}

func run(n *narrator.Narrator, opts *chapter.Options) (res result, err error) {
	cfg := settingsFor(opts.Quick)
	res.Settings = cfg
	n.Title(info.Number, info.Title)
	if _, err := peer.Look("nginx"); err != nil {
		return res, err // it says how to install nginx
	}

	n.Step("The master opens the socket; the upstream answers in %s", cfg.latency)
	upstream, stopUpstream, err := startUpstream(cfg.latency)
	if err != nil {
		return res, err
	}
	defer stopUpstream()
	dir, err := os.MkdirTemp("", "corofpm-03-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "fpm.sock")
	ngx, err := peer.StartNginx(peer.NginxConfig{Dir: filepath.Join(dir, "nginx"), FastCGI: path})
	if err != nil {
		return res, err
	}
	defer ngx.Stop()
	n.Say("the master (pid %d) will listen on unix socket %s, backlog 1024, as php-fpm does", os.Getpid(), path)
	n.Say("nginx pid %d on 127.0.0.1:%d → fastcgi_pass unix:%s", ngx.Pid, ngx.Port, path)
	n.Say("/upstream.php fetches %s, which answers after %s", upstream, cfg.latency)

	n.Step("Throughput = workers / latency")
	res.Rounds, err = measureSizes(n, path, upstream, ngx.URL("/upstream.php"), cfg)
	if err != nil {
		return res, err
	}

	n.Step("More requests than workers: the backlog, then 502 and 504")
	if err := crowd(n, dir, upstream, cfg, &res); err != nil {
		return res, err
	}
	n.Lesson("a pre-forked worker serves one request at a time, so a pool of N workers completes at most N / latency requests per second, however many clients wait; the rest queue in the kernel's backlog, and past it nginx gives up with 502 or 504.")
	return res, nil
}
