package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/corofpm/corofpm/tutorial/load"
	"github.com/corofpm/corofpm/tutorial/peer"
)

// The IO-bound run: every request waits upstreamDelay on a slow upstream,
// ioConns clients keep requests coming for ioWindow.
const (
	upstreamDelay = 2 * time.Second
	ioConns       = 100
	// ioWindow holds five waves of answers (at 2, 4, 6, 8 and 10 s).
	ioWindow = 11 * time.Second
)

// BenchmarkIOBound is the IO-bound target: a script that waits 2 s
// on an upstream, pm static 8, 100 connections. A blocking worker holds
// one request for the whole wait, so the pool's throughput is children /
// delay = 4 req/s, however fast the server: php-fpm and corofpm must both
// come within 10% of it.
func BenchmarkIOBound(b *testing.B) {
	need(b, "nginx", phpFPM)
	up, err := ServeSlowUpstream(upstreamDelay)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { up.Close() })
	want := float64(children) / upstreamDelay.Seconds()

	type row struct {
		name        string
		ok          int
		rps, others float64
		failed      int
	}
	var rows []row
	for _, name := range []string{"php-fpm", "corofpm"} {
		p := startPool(b, name, PoolConfig{Children: children, Upstream: "http://" + up.Addr + "/"})
		r := row{name: name}
		withNginx(b, peer.NginxConfig{FastCGI: p.Addr, Root: www(p), ReadTimeout: time.Minute}, func(n *peer.Nginx) {
			url := n.URL("/upstream.php")
			mustGet(b, url, "ok")
			cpu0 := ReadCPU()
			res := load.Closed(url, ioConns, ioWindow)
			r.others = Others(cpu0, ReadCPU())
			r.ok, r.rps = res.Count(200), res.Throughput()
			for status, n := range res.Status {
				if status != 200 {
					r.failed += n // 0 counts requests with no HTTP answer
				}
			}
		})
		// The clients left ~90 requests queued; stop the pool now rather
		// than let it serve them for the next 20 s.
		p.Stop()
		rows = append(rows, r)
	}

	say.Step("IO-bound: upstream.php waits %s on an upstream, pm static %d, %d clients for %s through nginx",
		upstreamDelay, children, ioConns, ioWindow)
	t := say.Table("server", "200s", "req/s", "× (8 / 2 s)", "failed", "others' CPU")
	for _, r := range rows {
		t.Row(r.name, r.ok, r.rps, ratio(r.rps, want), r.failed, fmt.Sprintf("%.0f%%", r.others))
	}
	t.Print()
	say.Say("req/s is the 200s over the time from the start to the last answer; the target is %.0f req/s.", want)
	for _, r := range rows {
		b.Run(r.name, func(b *testing.B) {
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(r.rps, "req/s")
			b.ReportMetric(ratio(r.rps, want), "x-target")
			b.ReportMetric(float64(r.failed), "errors")
		})
	}
}
