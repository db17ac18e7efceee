package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/corofpm/corofpm/tutorial/fpmrun"
	"github.com/corofpm/corofpm/tutorial/load"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/corofpm/corofpm/tutorial/peer"
)

// pool is one of the two pools the chapter compares: the same master code
// and process manager, a different worker.model.
type pool struct {
	// name is "blocking" or "coroutine", the pool's row in every table.
	name string
	// directives are the pool's section of fpm.conf.
	directives string
	// slots is how many requests the pool serves at once: a blocking
	// worker one, a coroutine worker worker.coroutines.
	slots int
}

// ANCHOR: pools
// poolsFor returns the two pools: the same static pool of workers, the
// second with coroutine workers.
func poolsFor(cfg settings) []pool {
	common := fmt.Sprintf("pm = static\npm.max_children = %d\npm.status_path = /status\n", cfg.workers)
	return []pool{
		{name: "blocking", directives: common, slots: cfg.workers},
		{name: "coroutine", slots: cfg.workers * cfg.coroutines,
			directives: common + fmt.Sprintf("worker.model = coroutine\nworker.coroutines = %d\n", cfg.coroutines)},
	}
}

// ANCHOR_END: pools

// describe is the pool's directives on one line.
func (p pool) describe() string {
	return strings.ReplaceAll(strings.TrimSpace(p.directives), "\n", ", ")
}

// poolResult is what one pool did under the load.
type poolResult struct {
	Pool pool
	// Workers are the pool's worker pids.
	Workers []int
	// Isolation is /whoami.php's burst, sent before the load.
	Isolation isolation
	// Load is the closed loop's outcome, Ceiling the most it could be:
	// the requests the pool serves at once (at most the clients), each
	// taking the upstream's delay.
	Load    load.Result
	Ceiling float64
	// Mid is what the chapter saw in the middle of the load.
	Mid midRun
	// InFlight counts the upstream's calls in flight every
	// settings.sample through the load.
	InFlight []int
}

// measurePool starts the pool and its nginx, sends /whoami.php's burst,
// then the closed loop, looking at the accept queue and the status page in
// its middle, and stops both.
func measurePool(n *narrator.Narrator, dir string, up *upstream, p pool, cfg settings) (res poolResult, err error) {
	res.Pool = p
	res.Ceiling = float64(min(cfg.clients, p.slots)) / cfg.delay.Seconds()
	fdir := filepath.Join(dir, p.name)
	if err := os.Mkdir(fdir, 0o755); err != nil {
		return res, err
	}
	f, err := fpmrun.Start(fdir, p.directives, nil)
	if err != nil {
		return res, err
	}
	defer stopFast(f)
	ngx, err := peer.StartNginx(peer.NginxConfig{Dir: filepath.Join(fdir, "nginx"), FastCGI: f.Addr})
	if err != nil {
		return res, err
	}
	defer ngx.Stop()
	if res.Workers, err = f.Workers(); err != nil {
		return res, err
	}
	n.Say("master pid %d, workers %v on %s; nginx pid %d on port %d", f.Master.Pid, res.Workers, f.Addr, ngx.Pid, ngx.Port)

	if res.Isolation, err = checkIsolation(ngx.URL("/whoami.php"), cfg.isolation, cfg.pause); err != nil {
		return res, err
	}
	samples := sampleInFlight(up, cfg.sample, cfg.window)
	mid := lookMidRun(ngx, f.Addr, up, cfg.window)
	res.Load = load.Closed(ngx.URL("/upstream.php?url="+url.QueryEscape(up.url)), cfg.clients, cfg.window)
	res.InFlight, res.Mid = <-samples, <-mid
	if res.Load.Count(200) == 0 {
		return res, fmt.Errorf("the %s pool answered nothing: %v; its log:\n%s", p.name, res.Load.Status, f.LogText())
	}
	n.Say("%d answers in %s: %.1f req/s, against a ceiling of %d at once / %s = %.1f req/s",
		res.Load.Count(200), res.Load.Span.Round(time.Millisecond), res.Load.Throughput(),
		min(cfg.clients, p.slots), cfg.delay, res.Ceiling)
	n.Say("%s in: %d connections waiting in the kernel's accept queue of %s, %d calls waiting on the upstream",
		res.Mid.At.Round(time.Millisecond), res.Mid.Queued, f.Addr, res.Mid.InFlight)
	return res, nil
}

// stopFast stops an FPM as SIGTERM does (php-fpm's fast stop): what is
// left in the accept queue after the load would otherwise keep a blocking
// pool's workers busy for minutes, and nobody waits for those answers.
func stopFast(f *fpmrun.FPM) {
	f.Signal(syscall.SIGTERM)
	f.Master.Wait()
}

// sampleInFlight counts the upstream's calls in flight every interval for
// d, and sends the counts when done.
func sampleInFlight(up *upstream, interval, d time.Duration) <-chan []int {
	out := make(chan []int, 1)
	go func() {
		var counts []int
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for end := time.Now().Add(d); time.Now().Before(end); <-tick.C {
			counts = append(counts, int(up.inFlight.Load()))
		}
		out <- counts
	}()
	return out
}
