package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/corofpm/corofpm/net/sock"
	"github.com/corofpm/corofpm/tutorial/load"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/corofpm/corofpm/tutorial/peer"
)

// measureSizes runs the same closed-loop load against pools of each size
// and prints throughput beside its ceiling. Each pool gets a fresh socket
// at the same path: requests left queued when a window ends die with the
// old socket instead of stealing the next pool's time.
func measureSizes(n *narrator.Narrator, path, upstream, url string, cfg settings) ([]round, error) {
	n.Say("%d clients send GET /upstream.php in a loop for %s, against pools of %v workers",
		cfg.clients, cfg.window, cfg.sizes)
	var rounds []round
	for _, size := range cfg.sizes {
		ln, err := sock.Listen(path, 1024)
		if err != nil {
			return nil, err
		}
		p, err := startPool(ln, size, upstream, tagger(n))
		if err != nil {
			ln.Close()
			return nil, err
		}
		n.Detail("pool of %d: worker pids %v, each blocked in accept(2) on fd 3", size, p.pids())
		res := load.Closed(url, cfg.clients, cfg.window)
		p.stop()
		ln.Close()
		if res.Count(200) == 0 {
			return nil, fmt.Errorf("pool of %d workers answered nothing: %v", size, res.Status)
		}
		rounds = append(rounds, round{Workers: size, Result: res, Ceiling: float64(size) / cfg.latency.Seconds()})
	}
	t := n.Table("workers", "clients", "answered", "req/s", "ceiling N/latency", "of ceiling", "p50", "p99")
	for _, r := range rounds {
		t.Row(r.Workers, cfg.clients, r.Result.Count(200), r.Result.Throughput(), r.Ceiling,
			fmt.Sprintf("%.0f%%", 100*r.Result.Throughput()/r.Ceiling), r.Result.Percentile(0.5), r.Result.Percentile(0.99))
	}
	t.Print()
	n.Say("req/s counts answers from the start to the last answer in the window;")
	n.Say("a worker waiting %s on the upstream serves no one else: the other clients wait in the backlog", cfg.latency)
	return rounds, nil
}

// crowd sends a burst of requests at a small pool whose socket has a tiny
// backlog, through an nginx with a short timeout, and counts the answers.
func crowd(n *narrator.Narrator, dir, upstream string, cfg settings, res *result) error {
	res.Pool, res.Backlog = 2, 2
	path := filepath.Join(dir, "small.sock")
	ln, err := sock.Listen(path, res.Backlog)
	if err != nil {
		return err
	}
	defer ln.Close()
	timeout := 3 * cfg.latency / 2
	ngx, err := peer.StartNginx(peer.NginxConfig{Dir: filepath.Join(dir, "nginx-small"), FastCGI: path, ReadTimeout: timeout})
	if err != nil {
		return err
	}
	defer ngx.Stop()
	p, err := startPool(ln, res.Pool, upstream, tagger(n))
	if err != nil {
		return err
	}
	defer p.stop()
	n.Say("a pool of %d workers on unix socket %s with listen backlog %d;", res.Pool, path, res.Backlog)
	n.Say("nginx (pid %d) gives up after fastcgi_read_timeout %s", ngx.Pid, timeout)
	n.Say("%d requests arrive at the same moment:", cfg.crowd)
	res.Crowd = load.Burst(ngx.URL("/upstream.php"), cfg.crowd, 10*time.Second)
	t := n.Table("answer", "count", "why")
	why := map[int]string{
		200: "a worker took it at once, or it waited in the backlog and was served in time",
		502: "the backlog was full: connect(2) failed with EAGAIN and nginx gave up at once",
		504: "it waited in the backlog longer than fastcgi_read_timeout",
		0:   "no answer at all",
	}
	for _, status := range []int{200, 502, 504, 0} {
		if c := res.Crowd.Count(status); c > 0 {
			t.Row(statusName(status), c, why[status])
		}
	}
	t.Print()
	if log := ngx.ErrorLog(); strings.Contains(log, "Resource temporarily unavailable") {
		n.Say("nginx's error log says it: connect() to unix:%s failed (11: Resource temporarily unavailable)", path)
	}
	return nil
}

func statusName(status int) string {
	if status == 0 {
		return "none"
	}
	return fmt.Sprint(status)
}
