package main

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/corofpm/corofpm/fpm/config"
	"github.com/corofpm/corofpm/tutorial/fpmrun"
	"github.com/corofpm/corofpm/tutorial/load"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/corofpm/corofpm/tutorial/peer"
)

// pmPool is one pool of step 2, with a master and an nginx of its own.
type pmPool struct {
	name string
	// rest is where the process manager leaves the pool once the load is
	// gone: max_children for static, max_spare_servers for dynamic (it
	// stops only workers above it), zero for ondemand.
	rest int
	// clients is its load in the burst.
	clients int
	f       *fpmrun.FPM
	ngx     *peer.Nginx
}

// phase is a part of the step load.
type phase string

const (
	before phase = "before"
	burst  phase = "burst"
	after  phase = "after"
)

// sample is the number of workers of each pool at one moment.
type sample struct {
	At      time.Duration // since the step began
	Phase   phase
	Workers []int // in the order of stepLoad.Pools
}

// stepLoad is what step 2 measured.
type stepLoad struct {
	Pools   []poolFigures
	Samples []sample
	// BurstAt and QuietAt are when the burst began and ended.
	BurstAt, QuietAt time.Duration
}

// poolFigures are one pool's figures, read from its samples and its log.
type poolFigures struct {
	Name     string
	Clients  int
	Rest     int
	Answered int // requests answered 200 during the burst
	Before   int // workers when the burst began
	Peak     int
	ToPeak   time.Duration // from the burst's start to the first sample at Peak
	After    int           // workers at the end
	// Settled is from the burst's end to the first sample at or below
	// Rest; -1 when that did not happen within the run.
	Settled time.Duration
	Log     string // the master's error log
	// Starts are when its workers were started, since the step began,
	// sorted: from /proc/PID/stat, exact to 10 ms.
	Starts []time.Duration
}

// startPools starts the three pools of step 2 at once, each behind its
// own nginx.
func startPools(dir string, cfg settings) ([]*pmPool, func(), error) {
	conf, err := config.Parse("php-fpm.conf", []byte(threePools(cfg)))
	if err != nil {
		return nil, nil, err
	}
	directives := map[string]string{"static": cfg.static, "dynamic": cfg.dynamic, "ondemand": cfg.ondemand}
	pools := make([]*pmPool, len(conf.Pools))
	errs := make([]error, len(conf.Pools))
	var wg sync.WaitGroup
	for i, pc := range conf.Pools {
		pools[i] = &pmPool{name: pc.Name, clients: cfg.clients}
		switch pc.PM {
		case config.Static:
			pools[i].rest = pc.MaxChildren
		case config.Dynamic:
			pools[i].rest = pc.MaxSpareServers
		case config.Ondemand:
			pools[i].clients = cfg.ondemandClients
		}
		wg.Go(func() { errs[i] = pools[i].start(dir, directives[pc.Name]) })
	}
	wg.Wait()
	stop := func() {
		for _, p := range pools {
			if p.ngx != nil {
				p.ngx.Stop()
			}
			if p.f != nil {
				p.f.Stop(10 * time.Second)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		stop()
		return nil, nil, err
	}
	return pools, stop, nil
}

// start starts the pool's master and its nginx.
func (p *pmPool) start(dir, directives string) error {
	fdir, err := subdir(dir, "fpm-"+p.name)
	if err != nil {
		return err
	}
	if p.f, err = fpmrun.Start(fdir, directives, nil); err != nil {
		return err
	}
	p.ngx, err = peer.StartNginx(peer.NginxConfig{Dir: filepath.Join(dir, "nginx-"+p.name), FastCGI: p.f.Addr})
	return err
}

// runStepLoad runs the step load on the three pools at once and counts
// their workers every cfg.sample, then prints the chart and the figures.
func runStepLoad(n *narrator.Narrator, dir string, cfg settings) (stepLoad, error) {
	var res stepLoad
	pools, stop, err := startPools(dir, cfg)
	if err != nil {
		return res, err
	}
	defer stop()
	for _, p := range pools {
		n.Say("%-8s master pid %d, nginx on 127.0.0.1:%d", p.name, p.f.Master.Pid, p.ngx.Port)
		pids, _ := p.f.Workers()
		n.Detail("%s: %s, workers %v, listening on %s", p.name, p.f.Conf, pids, p.f.Addr)
	}
	n.Say("each: %s quiet, then clients in a closed loop on /sleep.php?ms=%d for %s, then quiet",
		cfg.before, cfg.sleep.Milliseconds(), cfg.burst)
	n.Say("until ondemand is back at zero and dynamic shrinking (at most %s); workers counted every %s", cfg.after, cfg.sample)

	loads := make([]load.Result, len(pools))
	starts, err := measure(pools, cfg, loads, &res)
	if err != nil {
		return res, err
	}
	for i, p := range pools {
		f := figures(p, i, res, loads[i])
		f.Starts = slices.Sorted(maps.Values(starts[i]))
		res.Pools = append(res.Pools, f)
	}
	showChart(n, res, cfg.sample)
	showFigures(n, res)
	return res, nil
}

// measure runs the phases and takes the samples into res. The load runs
// in its own goroutines; this one counts workers on time, and reads when
// each new worker was started, by pid, for each pool.
func measure(pools []*pmPool, cfg settings, loads []load.Result, res *stepLoad) (starts []map[int]time.Duration, err error) {
	boot, err := uptime()
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	starts = make([]map[int]time.Duration, len(pools))
	for i := range starts {
		starts[i] = map[int]time.Duration{}
	}
	began, ended := make(chan time.Duration, 1), make(chan time.Duration, 1)
	go func() {
		time.Sleep(cfg.before)
		began <- time.Since(t0)
		done := make(chan struct{})
		for i, p := range pools {
			go func() {
				loads[i] = load.Closed(p.ngx.URL(fmt.Sprintf("/sleep.php?ms=%d", cfg.sleep.Milliseconds())), p.clients, cfg.burst)
				done <- struct{}{}
			}()
		}
		for range pools {
			<-done
		}
		ended <- time.Since(t0)
	}()
	ph := before
	deadline := time.Duration(0)
	peaks := make([]int, len(pools))
	for tick := time.Duration(0); ; tick += cfg.sample {
		time.Sleep(time.Until(t0.Add(tick)))
		select {
		case res.BurstAt = <-began:
			ph = burst
		case res.QuietAt = <-ended:
			ph, deadline = after, res.QuietAt+cfg.after
		default:
		}
		s := sample{Phase: ph}
		// The quiet phase has shown enough when the ondemand pool is back
		// at zero and every other pool is at rest or on its way down.
		enough := ph == after
		for i, p := range pools {
			pids, err := p.f.Workers()
			if err != nil {
				return nil, err
			}
			for _, pid := range pids {
				if _, seen := starts[i][pid]; !seen {
					// A worker gone meanwhile is skipped; its count stays.
					if st, err := startTime(pid); err == nil {
						starts[i][pid] = st - boot
					}
				}
			}
			w := len(pids)
			s.Workers = append(s.Workers, w)
			peaks[i] = max(peaks[i], w)
			enough = enough && (w <= p.rest || p.rest > 0 && w < peaks[i])
		}
		s.At = time.Since(t0) // when the count is known: after the scan
		res.Samples = append(res.Samples, s)
		if enough || ph == after && s.At >= deadline {
			return starts, nil
		}
	}
}

// figures reads pool i's figures from the samples.
func figures(p *pmPool, i int, res stepLoad, l load.Result) poolFigures {
	f := poolFigures{Name: p.name, Clients: p.clients, Rest: p.rest, Answered: l.Count(200), Settled: -1, Log: p.f.LogText()}
	for _, s := range res.Samples {
		w := s.Workers[i]
		switch {
		case s.At < res.BurstAt:
			f.Before = w
		case w > f.Peak:
			f.Peak, f.ToPeak = w, s.At-res.BurstAt
		}
		if s.Phase == after && f.Settled < 0 && w <= p.rest {
			f.Settled = s.At - res.QuietAt
		}
		f.After = w
	}
	return f
}

func showFigures(n *narrator.Narrator, res stepLoad) {
	t := n.Table("pool", "clients", "answered", "before", "peak", "s to peak", "at the end", "settles at", "s to settle")
	for _, f := range res.Pools {
		toPeak, settled := "-", "-" // a pool that never moved
		if f.Peak > f.Before {
			toPeak = fmt.Sprintf("%.1f", f.ToPeak.Seconds())
		}
		switch {
		case f.Peak <= f.Rest:
		case f.Settled >= 0:
			settled = fmt.Sprintf("%.1f", f.Settled.Seconds())
		default:
			settled = "not within the run"
		}
		t.Row(f.Name, f.Clients, f.Answered, f.Before, f.Peak, toPeak, f.After, f.Rest, settled)
	}
	t.Print()
	n.Say("static never changes; dynamic needs seconds to grow and more to shrink, one")
	n.Say("idle worker a second down to max_spare_servers; ondemand grows as fast as")
	n.Say("connections wait and stops each worker process_idle_timeout after its last request,")
	n.Say("one a second too. The ondemand master, when a connection waits and its pool is full:")
	for _, line := range logLines(res.Pools[res.poolIndex("ondemand")].Log, "reached pm.max_children") {
		n.Say("  %s", line)
	}
}
