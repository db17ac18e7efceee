package bench

import (
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/corofpm/corofpm/tutorial/peer"
)

// The lifecycle runs: lifeClients clients send /hello.php through nginx
// for lifeRun; the event happens lifeEventAt into the run.
const (
	lifeClients = 16
	lifeRun     = 3 * time.Second
	lifeEventAt = time.Second
)

// lifeRow is one line of the lifecycle table.
type lifeRow struct {
	server, event string
	// sent and failed count the requests that the verdict is about: all of
	// them for a reload or a kill, those sent before the signal for a stop.
	sent, failed int
	// recovery is the time until the pool was whole again (a kill, a
	// reload) or gone (a stop); what it measures is in the event's name.
	recovery time.Duration
	// note says what happened to requests outside the verdict.
	note string
}

// BenchmarkLifecycle is the lifecycle target, under load through
// nginx: a crashed worker (kill -9) is replaced within 1 s and only the
// request it held may fail; a reload (SIGUSR2) and a graceful stop
// (SIGQUIT) fail no request. php-fpm goes through the same, for reference.
func BenchmarkLifecycle(b *testing.B) {
	need(b, "nginx", phpFPM)
	var rows []lifeRow
	for _, name := range []string{"php-fpm", "corofpm"} {
		p := startPool(b, name, PoolConfig{Children: children})
		withNginx(b, peer.NginxConfig{FastCGI: p.Addr, Root: www(p)}, func(n *peer.Nginx) {
			url := n.URL("/hello.php")
			mustGet(b, url, HelloBody)
			rows = append(rows, killWorker(b, p, url), reload(b, p, url), gracefulStop(b, p, url))
		})
	}

	say.Step("lifecycle under load: %d clients send hello.php through nginx for %s, the event at %s",
		lifeClients, lifeRun, lifeEventAt)
	t := say.Table("server", "event", "requests", "failed", "took", "")
	for _, r := range rows {
		t.Row(r.server, r.event, r.sent, r.failed, r.recovery, r.note)
	}
	t.Print()
	for _, r := range rows {
		b.Run(r.server+"/"+r.event[:4], func(b *testing.B) {
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(r.failed), "failed")
			b.ReportMetric(float64(r.recovery.Milliseconds()), "ms")
		})
	}
}

// during runs the load, does event lifeEventAt into it, and returns what
// event returned, when it began, and every request's outcome.
func during(url string, event func() time.Duration) (time.Duration, time.Time, Timeline) {
	done := make(chan Timeline)
	go func() { done <- Hammer(url, lifeClients, lifeRun) }()
	time.Sleep(lifeEventAt)
	at := time.Now()
	took := event()
	return took, at, <-done
}

// killWorker sends SIGKILL to one worker and times its replacement: until
// the master has all its children again, the victim not among them.
func killWorker(b *testing.B, p *Pool, url string) lifeRow {
	took, _, tl := during(url, func() time.Duration {
		before, err := p.Workers()
		if err != nil || len(before) == 0 {
			b.Fatalf("%s has no workers to kill: %v", p.Name, err)
		}
		victim := before[0]
		syscall.Kill(victim, syscall.SIGKILL)
		return waitWorkers(p, func(now []int) bool { return !slices.Contains(now, victim) })
	})
	return lifeRow{server: p.Name, event: "kill -9 a worker → replaced", sent: len(tl), failed: tl.Failed(),
		recovery: took, note: "only the victim's request may fail"}
}

// reload sends SIGUSR2 and times it until every worker is a new one.
func reload(b *testing.B, p *Pool, url string) lifeRow {
	took, _, tl := during(url, func() time.Duration {
		old, _ := p.Workers()
		p.Signal(syscall.SIGUSR2)
		return waitWorkers(p, func(now []int) bool {
			return !slices.ContainsFunc(now, func(pid int) bool { return slices.Contains(old, pid) })
		})
	})
	return lifeRow{server: p.Name, event: "reload (USR2) → all new workers", sent: len(tl), failed: tl.Failed(), recovery: took}
}

// gracefulStop sends SIGQUIT and times it until the master has exited.
// Requests sent after the signal find no pool: nginx answers them 502, as
// it would for any stopped server; the verdict is on those sent before.
func gracefulStop(b *testing.B, p *Pool, url string) lifeRow {
	var exited bool
	queued := -1
	took, at, tl := during(url, func() time.Duration {
		t0 := time.Now()
		queued = p.ListenQueue()
		p.Signal(syscall.SIGQUIT)
		exited = p.WaitExit(10 * time.Second)
		return time.Since(t0)
	})
	if !exited {
		b.Errorf("%s did not exit within 10 s of SIGQUIT", p.Name)
	}
	before, after := tl.Split(at)
	return lifeRow{server: p.Name, event: "graceful stop (QUIT) → exited", sent: len(before), failed: before.Failed(),
		recovery: took, note: fmt.Sprintf("sent before the signal (%d in the listen queue at it); after: %d, %d failed",
			queued, len(after), after.Failed())}
}

// waitWorkers polls the master's children every millisecond, for at most
// 10 s, until it has them all and ok(children) holds; it returns how long
// that took.
func waitWorkers(p *Pool, ok func([]int) bool) time.Duration {
	t0 := time.Now()
	for time.Since(t0) < 10*time.Second {
		if now, err := p.Workers(); err == nil && len(now) == children && ok(now) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(t0)
}
