package bench

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corofpm/corofpm/tutorial/peer"
)

// The slow-upstream runs, the classic benchmark of a coroutine FPM: every
// request of upstream.php waits upstreamDelay on an upstream that answers
// any number of requests at once, so an FPM's throughput is how many
// requests it holds at once over the delay.
const (
	upstreamDelay = 2 * time.Second
	// slowConns against slowChildren workers: blocking, 8 requests in
	// flight and 4 req/s; coroutine, 8 × slowCoroutines = 1,024 places for
	// 800 requests, as many as the upstream alone serves.
	slowConns      = 800
	slowChildren   = 8
	slowCoroutines = 128
	// bigConns against bigChildren coroutine workers of bigCoroutines each:
	// 10,000 requests in flight, a ceiling of 10,000 / 2 s = 5,000 req/s.
	bigConns      = 10000
	bigChildren   = 2
	bigCoroutines = 5000
	// bigNginxConns is worker_connections for the 10,000-connection runs:
	// a proxied request holds two connections in an nginx worker, and
	// nginx's 2 workers need not share the clients evenly, so each may
	// take nearly all of them, within this machine's 20,000 descriptors
	// a process.
	bigNginxConns = 19900
	// somaxconn is the kernel's cap on a listen backlog
	// (net.core.somaxconn, 4096 by default since Linux 5.4).
	somaxconn = 4096
	// sampleEvery is how often a worker's RSS and descriptors are read
	// during a run.
	sampleEvery = 500 * time.Millisecond
)

// slowWindow is how long each measured run lasts: 60 s, enough rounds of
// the 2 s upstream that the window's quantization is small, or 10 s in
// the quick run.
func slowWindow() time.Duration {
	if quick {
		return 10 * time.Second
	}
	return 60 * time.Second
}

// slowTimeout is wrk's --timeout for a run of window: longer than the
// window, so that every answer that comes during it counts in the latency
// figures, however long it queued. A queue then shows as latency (php-fpm:
// tens of seconds) and not as a wall of "timeouts" that hides the rate.
func slowTimeout(window time.Duration) time.Duration { return window + 10*time.Second }

// slowRow is one line of a slow-upstream table.
type slowRow struct {
	server              string
	mode                string // "run 2" in a back-to-back series, else ""
	workers, coroutines int
	conns               int
	w                   Wrk
	// peak is each worker's sample of highest RSS during the run; after is
	// the workers' RSS once the run's last requests have drained.
	peak   map[int]Sample
	after  map[int]int64
	others float64
}

// steady is the row's steady-state throughput by Little's law, or 0 when
// the window saw fewer than two answers per connection: then no steady
// state was reached (a saturated FPM's queue grows all the window long)
// and the raw rate is the figure.
func (r slowRow) steady() float64 {
	if r.w.Requests < 2*r.conns {
		return 0
	}
	return r.w.LittleRPS(r.conns)
}

// rss is the workers' peak RSS summed, 0 for a row without workers.
func (r slowRow) rss() int64 { return PeakTotal(r.peak) }

// measure runs wrk at url with conns connections for window, sampling the
// RSS of the workers that workers lists (nil: none) all along.
func measure(tb testing.TB, url string, conns int, window time.Duration, workers func() []int) slowRow {
	tb.Helper()
	if workers == nil {
		workers = func() []int { return nil }
	}
	sampler := StartSampler(workers, sampleEvery)
	cpu0 := ReadCPU()
	w, err := WrkRun{URL: url, Conns: conns, Duration: window, Timeout: slowTimeout(window)}.Run()
	peak := sampler.Stop()
	if err != nil {
		tb.Fatal(err)
	}
	return slowRow{conns: conns, w: w, peak: peak, others: Others(cpu0, ReadCPU())}
}

// withSlowPool starts an FPM for upstream.php against up, and an nginx
// sized for conns in front of it, runs f, and stops both: the pool first
// (SIGQUIT), because a blocking pool still holds a queue of requests that
// nobody waits for any more.
func withSlowPool(tb testing.TB, name string, up *Server, cfg PoolConfig, conns int, f func(p *Pool, url string)) {
	tb.Helper()
	cfg.Upstream = "http://" + up.Addr + "/"
	cfg.Backlog = min(somaxconn, max(1024, conns))
	p := startPool(tb, name, cfg)
	ncfg := peer.NginxConfig{FastCGI: p.Addr, Root: www(p), Backlog: cfg.Backlog,
		ReadTimeout: 2 * slowTimeout(slowWindow())}
	if conns > 2000 {
		ncfg.WorkerConnections = bigNginxConns
	}
	withNginx(tb, ncfg, func(n *peer.Nginx) {
		url := n.URL("/upstream.php")
		mustGet(tb, url, "ok")
		f(p, url)
		if err := p.Stop(); err != nil {
			tb.Error(err)
		}
	})
}

// workersOf is p's workers' pids, for a Sampler.
func workersOf(p *Pool) func() []int {
	return func() []int { kids, _ := p.Workers(); return kids }
}

// BenchmarkSlowUpstream is the coroutine FPM's headline: upstream.php
// waits 2 s on an upstream, 800 connections through nginx, 8 workers.
// Blocking workers, php-fpm's or corofpm's, hold 8 requests and serve
// 8 / 2 s = 4 req/s; coroutine workers of 128 hold all 800 and must serve
// what the upstream alone serves to 800 connections (≈ 400 req/s): 99% of
// it, with no error and no timeout.
func BenchmarkSlowUpstream(b *testing.B) {
	need(b, "nginx", "wrk", phpFPM)
	up, err := ServeSlowUpstream(upstreamDelay)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { up.Close() })
	window := slowWindow()

	alone := measure(b, "http://"+up.Addr+"/", slowConns, window, nil)
	alone.server = "upstream alone"
	rows := []slowRow{alone}
	for _, s := range []struct {
		label, name string
		coroutines  int
	}{{"php-fpm", "php-fpm", 0}, {"corofpm blocking", "corofpm", 0}, {"corofpm coroutine", "corofpm", slowCoroutines}} {
		cfg := PoolConfig{Children: slowChildren, Coroutines: s.coroutines}
		withSlowPool(b, s.name, up, cfg, slowConns, func(p *Pool, url string) {
			r := measure(b, url, slowConns, window, workersOf(p))
			r.server, r.workers, r.coroutines = s.label, slowChildren, s.coroutines
			rows = append(rows, r)
		})
	}

	title := fmt.Sprintf("slow upstream: upstream.php waits %s, %d workers, wrk -t2 -c%d -d%s --timeout %s through nginx",
		upstreamDelay, slowChildren, slowConns, window, slowTimeout(window))
	printSlow(title, rows)
	blockingRate := float64(slowChildren) / upstreamDelay.Seconds()
	var notes []string
	for _, r := range rows[1:] {
		if r.coroutines > 0 {
			vs := ratio(r.steady(), alone.steady())
			notes = append(notes, fmt.Sprintf("%s %d × %d: steady state %.1f req/s = %.3f× the upstream alone's %.1f (target ≥ 0.99: %s); errors %d (target 0: %s), of which timeouts %d",
				r.server, r.workers, r.coroutines, r.steady(), vs, alone.steady(), verdict(vs >= 0.99),
				r.w.Errors(), verdict(r.w.Errors() == 0), r.w.Timeout))
		} else {
			// Answers come in whole rounds of slowChildren every delay; a
			// window holds window / delay rounds, give or take the one it
			// cuts.
			rounds := float64(r.w.Requests) / slowChildren
			fit := window.Seconds() / upstreamDelay.Seconds()
			notes = append(notes, fmt.Sprintf("%s static %d: %d answers = %.1f rounds of %d in %s, where %.0f rounds of %s fit: %.2f req/s, %d / %s = %.0f/s quantized by rounds (≈ 4/s expected: %s); the other %d connections were still queued at the end",
				r.server, r.workers, r.w.Requests, rounds, slowChildren, window, fit, upstreamDelay, r.w.RPS, slowChildren, upstreamDelay, blockingRate,
				verdict(math.Abs(rounds-fit) <= 1.5), slowConns-r.w.Requests))
		}
	}
	for _, n := range notes {
		say.Say("%s", n)
	}
	recordSlow("slow-800", title, window, rows, notes)
	reportSlow(b, rows)
}

// BenchmarkSlowUpstream10k is the same at 10,000 connections, against two
// coroutine workers of 5,000: a ceiling of 5,000 req/s, and the memory a
// worker needs for 5,000 requests in flight, which must stay under 8 KiB a
// request above its idle size, and come back to the same size run after
// run: three back-to-back runs, RSS within 5% after the third of what it
// was after the first.
func BenchmarkSlowUpstream10k(b *testing.B) {
	need(b, "nginx", "wrk")
	up, err := ServeSlowUpstream(upstreamDelay)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { up.Close() })
	window := slowWindow()
	// Runs 2 and 3 are there for memory: half as long, in the full run.
	windows := []time.Duration{window, window, window}
	if !quick {
		windows[1], windows[2] = window/2, window/2
	}

	alone := measure(b, "http://"+up.Addr+"/", bigConns, window, nil)
	alone.server = "upstream alone"
	rows := []slowRow{alone}
	var idle map[int]Sample
	cfg := PoolConfig{Children: bigChildren, Coroutines: bigCoroutines}
	withSlowPool(b, "corofpm", up, cfg, bigConns, func(p *Pool, url string) {
		idle = map[int]Sample{}
		for _, pid := range workersOf(p)() {
			idle[pid] = Sample{RSS: RSS(pid), FDs: FDs(pid)}
		}
		for i, d := range windows {
			r := measure(b, url, bigConns, d, workersOf(p))
			// The requests in flight when wrk stopped end within the
			// upstream's delay; a second later the worker, idle, gives
			// the burst's memory back (fpm: releaseIdle). Then it is at
			// rest, and its RSS is what it keeps for the next run.
			time.Sleep(upstreamDelay + 3*time.Second)
			r.after = map[int]int64{}
			for _, pid := range workersOf(p)() {
				r.after[pid] = RSS(pid)
			}
			r.server, r.mode, r.workers, r.coroutines = "corofpm coroutine", fmt.Sprintf("run %d", i+1), bigChildren, bigCoroutines
			rows = append(rows, r)
		}
	})

	title := fmt.Sprintf("slow upstream at %d connections: upstream.php waits %s, %d coroutine workers × %d, wrk -t2 -c%d -d%s (runs 2, 3: %s, back to back) --timeout %s through nginx",
		bigConns, upstreamDelay, bigChildren, bigCoroutines, bigConns, windows[0], windows[1], slowTimeout(window))
	printSlow(title, rows)
	notes := memoryTable(idle, rows[1:])
	first := rows[1]
	notes = append([]string{fmt.Sprintf("run 1: steady state %.0f req/s (target ≥ 4,900: %s), %.3f× the upstream alone's %.0f; errors %d (target 0: %s)",
		first.steady(), verdict(first.steady() >= 4900), ratio(first.steady(), alone.steady()), alone.steady(),
		first.w.Errors(), verdict(first.w.Errors() == 0))}, notes...)
	for _, n := range notes {
		say.Say("%s", n)
	}
	recordSlow("slow-10k", title, window, rows, notes)
	reportSlow(b, rows)
}

// printSlow prints a slow-upstream table. Its first row is the upstream
// alone, which the others are compared with.
func printSlow(title string, rows []slowRow) {
	say.Step("%s%s", title, quickNote())
	alone := rows[0]
	t := say.Table("server", "workers", "answers", "req/s", "c / mean", "× upstream alone", "p50", "p99",
		"errors", "worker RSS (peak)", "others' CPU")
	for _, r := range rows {
		workers, steady, vs, rss := "-", "-", "-", "-"
		if r.workers > 0 {
			workers = fmt.Sprint(r.workers)
			if r.coroutines > 0 {
				workers += fmt.Sprintf(" × %d", r.coroutines)
			}
			rss = MiB(r.rss())
		}
		if s := r.steady(); s > 0 {
			steady, vs = fmt.Sprintf("%.1f", s), fmt.Sprintf("%.3f", ratio(s, alone.steady()))
		} else {
			vs = fmt.Sprintf("%.3f (req/s)", ratio(r.w.RPS, alone.w.RPS))
		}
		t.Row(strings.TrimSpace(r.server+" "+r.mode), workers, r.w.Requests, r.w.RPS, steady, vs,
			r.w.P50, r.w.P99, r.w.Summary(), rss, fmt.Sprintf("%.0f%%", r.others))
	}
	t.Print()
	say.Say("req/s: answers over the window, as wrk counts them. With a closed loop on a 2 s upstream, answers come in")
	say.Say("rounds of the connections every 2 s, so this is quantized by whole rounds in the window.")
	say.Say("c / mean: connections / mean latency, the steady-state throughput by Little's law, from the same run;")
	say.Say("\"-\" where the window saw fewer than two answers per connection: a saturated pool's queue grows all")
	say.Say("the window long, it never reaches a steady state, and req/s is its rate.")
	say.Say("worker RSS (peak): the workers' VmRSS summed, each at its highest of the samples taken every %s.", sampleEvery)
}

// memoryTable prints, per coroutine worker, its RSS idle, at its peak of
// requests in flight, and after each run, and returns the readings
// against the memory targets.
func memoryTable(idle map[int]Sample, runs []slowRow) []string {
	say.Step("memory of the coroutine workers: idle (after one request), at the peak of run 1, after each run")
	cols := []string{"worker", "idle", "peak (run 1)", "in flight at peak", "above idle / request"}
	for i := range runs {
		cols = append(cols, fmt.Sprintf("after run %d", i+1))
	}
	cols = append(cols, "after 3 / after 1")
	t := say.Table(cols...)
	pids := make([]int, 0, len(idle))
	for pid := range idle {
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	var worstPer, worstDrift float64
	for _, pid := range pids {
		peak := runs[0].peak[pid]
		// Two descriptors a request in flight: nginx's FastCGI connection
		// and the one to the upstream.
		inFlight := (peak.FDs - idle[pid].FDs) / 2
		per := 0.0
		if inFlight > 0 {
			per = float64(peak.RSS-idle[pid].RSS) / float64(inFlight)
		}
		worstPer = max(worstPer, per)
		cells := []any{pid, MiB(idle[pid].RSS), MiB(peak.RSS), inFlight, fmt.Sprintf("%.1f KiB", per/1024)}
		for _, r := range runs {
			cells = append(cells, MiB(r.after[pid]))
		}
		drift := ratio(float64(runs[len(runs)-1].after[pid]), float64(runs[0].after[pid]))
		worstDrift = max(worstDrift, math.Abs(drift-1))
		t.Row(append(cells, fmt.Sprintf("%.3f", drift))...)
	}
	t.Print()
	say.Say("in flight at peak: (open descriptors at the peak sample - idle ones) / 2, a FastCGI connection and an upstream one a request.")
	say.Say("after run N: %s after wrk stopped, once the last requests ended and the idle worker gave the burst's memory back.", upstreamDelay+3*time.Second)
	return []string{
		fmt.Sprintf("memory: at most %.1f KiB of RSS per request in flight above idle (target < 8 KiB: %s)", worstPer/1024, verdict(worstPer > 0 && worstPer < 8<<10)),
		fmt.Sprintf("memory: RSS after run 3 within %.1f%% of after run 1 (target ≤ 5%%: %s)", 100*worstDrift, verdict(worstDrift <= 0.05)),
	}
}

// recordSlow adds a slow-upstream table to the results file.
func recordSlow(name, title string, window time.Duration, rows []slowRow, notes []string) {
	sc := Scenario{Name: name, Title: title, Window: window, Conns: rows[0].conns, Notes: notes}
	alone := rows[0]
	for _, r := range rows {
		row := Row{Server: r.server, Mode: r.mode, Workers: r.workers, Coroutines: r.coroutines, Steady: r.steady(), RSS: r.rss()}.FromWrk(r.w)
		if r.server != alone.server {
			row.Ratios = map[string]float64{"upstream alone": ratio(r.w.RPS, alone.w.RPS)}
			if r.steady() > 0 {
				row.Ratios["upstream alone steady"] = ratio(r.steady(), alone.steady())
			}
		}
		sc.Rows = append(sc.Rows, row)
	}
	results.Add(sc)
}

// reportSlow turns a table into benchmark lines.
func reportSlow(b *testing.B, rows []slowRow) {
	for _, r := range rows {
		b.Run(strings.ReplaceAll(strings.TrimSpace(r.server+" "+r.mode), " ", "_"), func(b *testing.B) {
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(r.w.RPS, "req/s")
			b.ReportMetric(r.steady(), "steady-req/s")
			b.ReportMetric(float64(r.w.Errors()), "errors")
		})
	}
}
