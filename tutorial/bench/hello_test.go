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
// every server alike; the table shows each row's median.
const (
	helloConns    = 64
	helloDuration = 5 * time.Second
	helloRounds   = 3
	warmup        = time.Second
	// keepalive is nginx's upstream keepalive per worker in keep-conn
	// mode: with its 2 workers, one kept connection per FPM child.
	keepalive = children / 2
)

// helloRow is one line of the hello table: a server behind one nginx in
// one FastCGI mode.
type helloRow struct {
	server, mode string
	nginx        peer.NginxConfig
	path         string // what wrk asks nginx for
	// pids lists the server's processes (nil for nginx alone), whose CPU
	// time per request cpu records, in µs, one figure per round.
	pids   func() []int
	cpu    []float64
	rps    []float64 // one figure per round
	errors Wrk       // error counts summed over the rounds
	// others is the most CPU other programs took during one of the row's
	// runs, in % of the machine: a row measured on a busy machine shows.
	others float64
	// median is the row's figure; vsPHP and vsCeiling are its ratios to
	// php-fpm in the same mode and to nginx alone.
	median, vsPHP, vsCeiling float64
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
// keepalive, "keep-conn"). corofpm should reach 1.5× php-fpm and 1.0× Go's
// net/http/fcgi; nginx answering by itself is the ceiling.
func BenchmarkHello(b *testing.B) {
	need(b, "nginx", "wrk", phpFPM)
	php := startPool(b, "php-fpm", PoolConfig{Children: children})
	coro := startPool(b, "corofpm", PoolConfig{Children: children})
	gofcgi, err := ServeGoFastCGI()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { gofcgi.Close() })

	var rows []*helloRow
	for _, mode := range []string{"close", "keep-conn"} {
		for _, s := range []struct {
			name, addr string
			pids       func() []int
		}{
			{"php-fpm", php.Addr, php.Pids}, {"corofpm", coro.Addr, coro.Pids},
			{"net/http/fcgi", gofcgi.Addr, func() []int { return []int{os.Getpid()} }},
		} {
			rows = append(rows, &helloRow{server: s.name, mode: mode, path: "/hello.php", pids: s.pids,
				nginx: peer.NginxConfig{FastCGI: s.addr, KeepConn: mode == "keep-conn", Keepalive: keepalive, Root: www(php)}})
		}
	}
	rows = append(rows, &helloRow{server: "nginx return 200", mode: "-", path: "/return",
		nginx: peer.NginxConfig{FastCGI: gofcgi.Addr, Return: HelloBody}})

	for round := range helloRounds {
		for _, r := range rows {
			// Each row gets an nginx of its own, stopped after it: an idle
			// kept connection of an earlier row would pin an FPM worker.
			withNginx(b, r.nginx, func(n *peer.Nginx) {
				url := n.URL(r.path)
				if round == 0 {
					mustGet(b, url, HelloBody)
					RunWrk(url, helloConns, warmup) // fill caches, open connections
				}
				cpu0, server0 := ReadCPU(), r.serverCPU()
				w, err := RunWrk(url, helloConns, helloDuration)
				if err != nil {
					b.Fatal(err)
				}
				r.others = max(r.others, Others(cpu0, ReadCPU()))
				if w.Requests > 0 && r.pids != nil {
					r.cpu = append(r.cpu, float64(r.serverCPU()-server0)/float64(w.Requests)/1e3)
				}
				r.rps = append(r.rps, w.RPS)
				r.errors = r.errors.Add(w)
			})
		}
	}
	finish(rows)
	printHello(rows)
	reportHello(b, rows)
}

// finish sets each row's median and its ratios: to php-fpm in the same
// nginx mode, and to nginx alone.
func finish(rows []*helloRow) {
	base := map[string]float64{}
	var ceiling float64
	for _, r := range rows {
		r.median = median(r.rps)
		if r.server == "php-fpm" {
			base[r.mode] = r.median
		}
		if r.mode == "-" {
			ceiling = r.median
		}
	}
	for _, r := range rows {
		r.vsPHP = ratio(r.median, base[r.mode])
		r.vsCeiling = ratio(r.median, ceiling)
	}
}

// printHello prints the hello table.
func printHello(rows []*helloRow) {
	say.Step("hello world through nginx, pm static %d, wrk -t2 -c%d -d%s, median of %d runs",
		children, helloConns, helloDuration, helloRounds)
	t := say.Table("server", "nginx → server", "req/s", "× php-fpm", "× ceiling", "server CPU/req", "errors", "others' CPU")
	for _, r := range rows {
		vsPHP := "-"
		if r.mode != "-" {
			vsPHP = fmt.Sprintf("%.2f", r.vsPHP)
		}
		cpu := "-"
		if len(r.cpu) > 0 {
			cpu = fmt.Sprintf("%.1fµs", median(r.cpu))
		}
		t.Row(r.server, r.mode, r.median, vsPHP, r.vsCeiling, cpu, r.errors.Summary(), fmt.Sprintf("%.0f%%", r.others))
	}
	t.Print()
	say.Say("wrk, nginx (2 workers) and the servers share this machine's %d CPUs: the same for every row.", runtime.NumCPU())
	say.Say("server CPU/req: user+system time of the server's processes (FPM master and workers) per request, median.")
	say.Say("others' CPU: the most that programs outside this benchmark used during one run of the row.")
}

// reportHello turns the table into benchmark lines, one per row, whose
// metrics are req/s and the two ratios.
func reportHello(b *testing.B, rows []*helloRow) {
	for _, r := range rows {
		b.Run(strings.ReplaceAll(r.server, " ", "_")+"/"+r.mode, func(b *testing.B) {
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(r.median, "req/s")
			if r.mode != "-" {
				b.ReportMetric(r.vsPHP, "x-php-fpm")
			}
			b.ReportMetric(r.vsCeiling, "x-ceiling")
			if len(r.cpu) > 0 {
				b.ReportMetric(median(r.cpu), "server-us/req")
			}
			b.ReportMetric(float64(r.errors.Errors()), "errors")
		})
	}
}
