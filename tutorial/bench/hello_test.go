package bench

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/corofpm/corofpm/tutorial/peer"
)

// The hello run: wrk -t2 -c64 for helloDuration, helloRounds times per row,
// the rows interleaved round by round so that a burst of outside load hits
// every server alike; the table shows each row's median. The quick run
// (BENCH_QUICK) does one short round.
const (
	helloConns = 64
	warmup     = time.Second
	// keepalive is nginx's upstream keepalive per nginx worker (it has
	// 2) in keep-conn mode, for a server that serves one connection per
	// process: one kept connection per FPM child, php-fpm's advice. More
	// would starve: a blocking worker stays with its kept connection, and
	// those nginx opens beyond the workers wait in the backlog.
	keepalive = children / 2
	// wideKeepalive is the same for a server that serves every
	// connection at once (the coroutine pool, 8 × 128, and net/http/fcgi):
	// all of wrk's connections, so that nginx never closes one. Given only
	// keepalive, nginx would close and reopen connections under load.
	wideKeepalive = helloConns / 2
	// helloCoroutines is worker.coroutines of the coroutine pool: the
	// default, 128 per worker, as in the issue.
	helloCoroutines = 128
)

// inTurn is the order of the rows in round n: each mode's rows rotated by
// n, so that over the rounds each row runs once in each place. The place
// matters in close mode: the FPM closes each connection first, so each
// request leaves a TIME_WAIT socket on the machine for a minute (up to
// tcp_max_tw_buckets), and a row run after others that made 100,000 of
// them measured 10-30% slower than the same server run first.
func inTurn(rows []*helloRow, n int) []*helloRow {
	var out []*helloRow
	for i := 0; i < len(rows); {
		j := i
		for j < len(rows) && rows[j].mode == rows[i].mode {
			j++
		}
		group := rows[i:j]
		for k := range group {
			out = append(out, group[(k+n)%len(group)])
		}
		i = j
	}
	return out
}

// helloRun is how long each run lasts and how many rounds there are.
func helloRun() (time.Duration, int) {
	if quick {
		return 2 * time.Second, 1
	}
	return 5 * time.Second, 4 // as many as close mode has rows: see inTurn
}

// helloRow is one line of the hello table: a server behind one nginx in
// one FastCGI mode.
type helloRow struct {
	server, mode string
	// narrow marks the extra row that gives the coroutine pool the
	// blocking pools' keepalive, to show what it costs.
	narrow bool
	nginx  peer.NginxConfig
	path   string // what wrk asks nginx for
	// pids lists the server's processes (nil for nginx alone), whose CPU
	// time per request cpu records, in µs, one figure per round.
	pids func() []int
	// workers lists an FPM's workers, whose RSS rss records after each
	// round (nil for the servers that are not an FPM).
	workers func() ([]int, error)
	cpu     []float64
	// nginxCPU is the same for the row's nginx (master and workers).
	nginxCPU []float64
	rps      []float64 // one figure per round
	p50, p99 []float64 // seconds, one figure per round
	rss      []float64 // bytes, one figure per round
	errors   Wrk       // error counts summed over the rounds
	// others is the most CPU other programs took during one of the row's
	// runs, in % of the machine: a row measured on a busy machine shows.
	others float64
	// median is the row's figure; vsPHP, vsBlocking and vsCeiling are its
	// ratios to php-fpm and to corofpm's blocking workers in the same
	// mode, and to nginx alone.
	median, vsPHP, vsBlocking, vsCeiling float64
}

// serverCPU is the CPU time the row's server has used so far.
func (r *helloRow) serverCPU() time.Duration {
	if r.pids == nil {
		return 0
	}
	return ProcessCPU(r.pids()...)
}

// BenchmarkHello is the first target: hello world through the same
// nginx, pm static 8, wrk -c64, with nginx opening a FastCGI connection per
// request ("close") and keeping them (fastcgi_keep_conn + upstream
// keepalive, "keep-conn"). corofpm's blocking workers should reach 1.5×
// php-fpm and 1.0× Go's net/http/fcgi, and its coroutine workers (8 × 128)
// 1.0× its blocking ones and 1.5× php-fpm; nginx answering by itself is
// the ceiling.
func BenchmarkHello(b *testing.B) {
	need(b, "nginx", "wrk", phpFPM)
	duration, rounds := helloRun()
	php := startPool(b, "php-fpm", PoolConfig{Children: children})
	blocking := startPool(b, "corofpm", PoolConfig{Children: children})
	coroutine := startPool(b, "corofpm", PoolConfig{Children: children, Coroutines: helloCoroutines})
	gofcgi, err := ServeGoFastCGI()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { gofcgi.Close() })

	var rows []*helloRow
	for _, mode := range []string{"close", "keep-conn"} {
		for _, s := range []struct {
			name, addr string
			keepalive  int
			narrow     bool
			pids       func() []int
			workers    func() ([]int, error)
		}{
			{"php-fpm", php.Addr, keepalive, false, php.Pids, php.Workers},
			{"corofpm blocking", blocking.Addr, keepalive, false, blocking.Pids, blocking.Workers},
			{"corofpm coroutine", coroutine.Addr, wideKeepalive, false, coroutine.Pids, coroutine.Workers},
			{"corofpm coroutine", coroutine.Addr, keepalive, true, coroutine.Pids, coroutine.Workers},
			{"net/http/fcgi", gofcgi.Addr, wideKeepalive, false, func() []int { return []int{os.Getpid()} }, nil},
		} {
			if s.narrow && mode == "close" {
				continue // no keepalive to narrow
			}
			rows = append(rows, &helloRow{server: s.name, mode: mode, narrow: s.narrow, path: "/hello.php", pids: s.pids, workers: s.workers,
				nginx: peer.NginxConfig{FastCGI: s.addr, KeepConn: mode == "keep-conn", Keepalive: s.keepalive, Root: www(php)}})
		}
	}
	rows = append(rows, &helloRow{server: "nginx return 200", mode: "-", path: "/return",
		nginx: peer.NginxConfig{FastCGI: gofcgi.Addr, Return: HelloBody}})

	for round := range rounds {
		for _, r := range inTurn(rows, round) {
			// Each row gets an nginx of its own, stopped after it: an idle
			// kept connection of an earlier row would pin an FPM worker.
			withNginx(b, r.nginx, func(n *peer.Nginx) {
				url := n.URL(r.path)
				if round == 0 {
					mustGet(b, url, HelloBody)
					RunWrk(url, helloConns, warmup) // fill caches, open connections
				}
				cpu0, server0, nginx0 := ReadCPU(), r.serverCPU(), nginxCPU(n)
				w, err := RunWrk(url, helloConns, duration)
				if err != nil {
					b.Fatal(err)
				}
				r.others = max(r.others, Others(cpu0, ReadCPU()))
				if w.Requests > 0 && r.pids != nil {
					r.cpu = append(r.cpu, float64(r.serverCPU()-server0)/float64(w.Requests)/1e3)
				}
				if w.Requests > 0 {
					r.nginxCPU = append(r.nginxCPU, float64(nginxCPU(n)-nginx0)/float64(w.Requests)/1e3)
				}
				if r.workers != nil {
					kids, _ := r.workers()
					r.rss = append(r.rss, float64(TotalRSS(kids)))
				}
				r.rps = append(r.rps, w.RPS)
				r.p50 = append(r.p50, w.P50.Seconds())
				r.p99 = append(r.p99, w.P99.Seconds())
				r.errors = r.errors.Add(w)
			})
		}
	}
	finish(rows)
	notes := printHello(rows, duration, rounds)
	recordHello(rows, duration, notes)
	reportHello(b, rows)
}

// nginxCPU is the CPU time n's master and workers have used so far.
func nginxCPU(n *peer.Nginx) time.Duration {
	workers, _ := peer.ChildrenOf(n.Pid)
	return ProcessCPU(append(workers, n.Pid)...)
}

// finish sets each row's median and its ratios: to php-fpm in the same
// nginx mode, and to nginx alone.
func finish(rows []*helloRow) {
	php, blocking := map[string]float64{}, map[string]float64{}
	var ceiling float64
	for _, r := range rows {
		r.median = median(r.rps)
		switch {
		case r.narrow: // not a reference for the others
		case r.server == "php-fpm":
			php[r.mode] = r.median
		case r.server == "corofpm blocking":
			blocking[r.mode] = r.median
		case r.mode == "-":
			ceiling = r.median
		}
	}
	for _, r := range rows {
		r.vsPHP = ratio(r.median, php[r.mode])
		r.vsBlocking = ratio(r.median, blocking[r.mode])
		r.vsCeiling = ratio(r.median, ceiling)
	}
}

// printHello prints the hello table, and under it the readings against
// the coroutine workers' targets, which it returns.
func printHello(rows []*helloRow, duration time.Duration, rounds int) []string {
	say.Step("hello world through nginx, pm static %d (coroutine: %d × %d), wrk -t2 -c%d -d%s, median of %d runs%s",
		children, children, helloCoroutines, helloConns, duration, rounds, quickNote())
	t := say.Table("server", "nginx → server", "keepalive", "req/s", "p50", "p99", "× php-fpm", "× blocking", "× ceiling",
		"server CPU/req", "nginx CPU/req", "worker RSS", "errors", "others' CPU")
	for _, r := range rows {
		keep := "-"
		if r.nginx.KeepConn {
			keep = fmt.Sprintf("%d × 2", r.nginx.Keepalive)
		}
		vsPHP, vsBlocking := "-", "-"
		if r.mode != "-" {
			vsPHP, vsBlocking = fmt.Sprintf("%.2f", r.vsPHP), fmt.Sprintf("%.2f", r.vsBlocking)
		}
		cpu, nginx, rss := "-", "-", "-"
		if len(r.cpu) > 0 {
			cpu = fmt.Sprintf("%.1fµs", median(r.cpu))
		}
		if len(r.nginxCPU) > 0 {
			nginx = fmt.Sprintf("%.1fµs", median(r.nginxCPU))
		}
		if len(r.rss) > 0 {
			rss = MiB(int64(median(r.rss)))
		}
		t.Row(r.server, r.mode, keep, r.median, secs(median(r.p50)), secs(median(r.p99)), vsPHP, vsBlocking, r.vsCeiling,
			cpu, nginx, rss, r.errors.Summary(), fmt.Sprintf("%.0f%%", r.others))
	}
	t.Print()
	say.Say("wrk, nginx (2 workers) and the servers share this machine's %d CPUs: the same for every row.", runtime.NumCPU())
	say.Say("server CPU/req: user+system time of the server's processes (FPM master and workers) per request, median;")
	say.Say("nginx CPU/req: the same for nginx. Each includes the kernel's work on its behalf, such as the TCP of the")
	say.Say("packets it sends, which on loopback is the receiving side's too.")
	say.Say("worker RSS: the pool's %d workers' resident memory summed (VmRSS), after the run, median.", children)
	say.Say("others' CPU: the most that programs outside this benchmark used during one run of the row.")
	say.Say("keepalive: nginx's upstream keepalive × its 2 workers in keep-conn mode: one kept connection per FPM child for the servers")
	say.Say("that serve one connection per process (more would starve in the backlog), all of wrk's %d for those that serve them all at once;", helloConns)
	say.Say("the coroutine pool's second keep-conn row has the narrow setting, and nginx closes and reopens connections beyond it.")
	var notes []string
	for _, r := range rows {
		if r.server == "corofpm coroutine" && !r.narrow {
			notes = append(notes, fmt.Sprintf("%s: coroutine workers at %.2f× blocking (target ≥ 1.0: %s) and %.2f× php-fpm (target ≥ 1.5: %s)",
				r.mode, r.vsBlocking, verdict(r.vsBlocking >= 1.0), r.vsPHP, verdict(r.vsPHP >= 1.5)))
			if r.vsPHP < 1.5 && len(r.cpu) > 0 {
				notes = append(notes, budget(r))
			}
		}
	}
	for _, n := range notes {
		say.Say("%s", n)
	}
	return notes
}

// budget says what 1.5× php-fpm would take of a coroutine row that is
// short of it. With the CPUs saturated (wrk, nginx and the FPM share them,
// and the others' CPU column stays near 0), a row's requests/s is the
// cores' time over its CPU time per request; what is not the FPM's (nginx,
// wrk, the kernel's work for them) stays when the FPM gets cheaper, so the
// FPM's share at 1.5× php-fpm is what is left of that row's budget.
func budget(r *helloRow) string {
	cores := float64(runtime.NumCPU()) * 1e6 // µs of CPU per second
	target := 1.5 * r.median / r.vsPHP
	rest := cores/r.median - median(r.cpu)
	return fmt.Sprintf("%s: 1.5× php-fpm is %.0f req/s, %.1f µs of the %d CPUs a request; all but the FPM (nginx, wrk, the kernel for them) "+
		"took %.1f µs a request in this row, which leaves the FPM %.1f µs, where it took %.1f",
		r.mode, target, cores/target, runtime.NumCPU(), rest, cores/target-rest, median(r.cpu))
}

// recordHello adds the hello table to the results file.
func recordHello(rows []*helloRow, duration time.Duration, notes []string) {
	sc := Scenario{Name: "hello", Title: "hello world through nginx, pm static 8", Window: duration, Conns: helloConns, Notes: notes}
	for _, r := range rows {
		row := Row{Server: r.server, Mode: r.mode, Keepalive: 2 * r.nginx.Keepalive, RPS: r.median, P50: median(r.p50), P99: median(r.p99), RSS: int64(median(r.rss)),
			Non2xx: r.errors.Non2xx, Connect: r.errors.Connect, Read: r.errors.Read, Write: r.errors.Write, Timeout: r.errors.Timeout}
		if r.workers != nil {
			row.Workers = children
		}
		if r.server == "corofpm coroutine" {
			row.Coroutines = helloCoroutines
		}
		if r.mode != "-" {
			row.Ratios = map[string]float64{"php-fpm": r.vsPHP, "corofpm blocking": r.vsBlocking, "ceiling": r.vsCeiling}
		}
		sc.Rows = append(sc.Rows, row)
	}
	results.Add(sc)
}

// reportHello turns the table into benchmark lines, one per row, whose
// metrics are req/s and the two ratios.
func reportHello(b *testing.B, rows []*helloRow) {
	for _, r := range rows {
		name := strings.ReplaceAll(r.server, " ", "_") + "/" + r.mode
		if r.narrow {
			name += fmt.Sprintf("_keepalive%d", 2*r.nginx.Keepalive)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(r.median, "req/s")
			if r.mode != "-" {
				b.ReportMetric(r.vsPHP, "x-php-fpm")
				b.ReportMetric(r.vsBlocking, "x-blocking")
			}
			b.ReportMetric(r.vsCeiling, "x-ceiling")
			if len(r.cpu) > 0 {
				b.ReportMetric(median(r.cpu), "server-us/req")
			}
			b.ReportMetric(float64(r.errors.Errors()), "errors")
		})
	}
}

// Over as many rounds as a mode has rows, each row runs once in each
// place among its mode's rows, and the modes keep their order.
func TestInTurnRotatesEachMode(t *testing.T) {
	var rows []*helloRow
	for _, m := range []string{"close", "close", "close", "keep-conn", "keep-conn", "-"} {
		rows = append(rows, &helloRow{mode: m, server: fmt.Sprint(len(rows))})
	}
	places := map[string]map[int]bool{}
	for n := range 3 {
		var modes, servers []string
		for i, r := range inTurn(rows, n) {
			modes, servers = append(modes, r.mode), append(servers, r.server)
			if places[r.server] == nil {
				places[r.server] = map[int]bool{}
			}
			places[r.server][i] = true
		}
		if n == 1 {
			if got, want := strings.Join(servers, " "), "1 2 0 4 3 5"; got != want {
				t.Errorf("round 1: %s, want %s", got, want)
			}
		}
		if got, want := strings.Join(modes, " "), "close close close keep-conn keep-conn -"; got != want {
			t.Errorf("round %d: modes %s, want %s", n, got, want)
		}
	}
	for _, s := range []string{"0", "1", "2"} {
		if len(places[s]) != 3 {
			t.Errorf("close row %s ran in places %v, want all three", s, places[s])
		}
	}
}
