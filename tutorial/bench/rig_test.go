package bench

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/corofpm/corofpm/tutorial/peer"
)

// phpFPM is the program of the real php-fpm, as Debian's php8.2-fpm
// installs it.
const phpFPM = "php-fpm8.2"

// children is pm.max_children of every pool the benchmarks start, as in
// the issue: pm static 8.
const children = 8

// say prints the benchmarks' tables and notes on stdout, which go test
// passes through.
var say = narrator.New(os.Stdout)

// need skips tb, with one line saying what to install, when a peer is
// missing (and fails it under CI=true, as every real-peer test). The line
// is also printed on stdout, where `make bench` shows it without -v.
func need(tb testing.TB, names ...string) {
	tb.Helper()
	for _, name := range names {
		if _, err := peer.Look(name); err != nil {
			fmt.Printf("%s: skipped: %v\n", tb.Name(), err)
		}
	}
	peer.Need(tb, names...)
}

// startPool starts php-fpm or corofpm with pm static and stops it when tb
// ends.
func startPool(tb testing.TB, name string, cfg PoolConfig) *Pool {
	tb.Helper()
	bin, err := peer.Look(phpFPM)
	if name == "corofpm" {
		bin, err = BuildCorofpm(tb.TempDir())
	}
	if err != nil {
		tb.Fatal(err)
	}
	p, err := StartPool(name, bin, tb.TempDir(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := p.Stop(); err != nil {
			tb.Error(err)
		}
	})
	return p
}

// withNginx runs f with an nginx of two workers, as a small production
// one, started for cfg and stopped when f returns.
func withNginx(tb testing.TB, cfg peer.NginxConfig, f func(*peer.Nginx)) {
	tb.Helper()
	cfg.Dir = tb.TempDir()
	cfg.Workers = 2
	n, err := peer.StartNginx(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	defer func() {
		if err := n.Stop(); err != nil {
			tb.Errorf("%v\nerror.log:\n%s", err, n.ErrorLog())
		}
	}()
	f(n)
}

// mustGet fetches url once and fails tb unless it answers 200 with body
// (when body is not empty): a benchmark measures only a server that works.
func mustGet(tb testing.TB, url, body string) {
	tb.Helper()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 || body != "" && string(b) != body {
		tb.Fatalf("GET %s: %d %q (%v), want 200 %q", url, resp.StatusCode, b, err, body)
	}
}

// median of xs, which it sorts.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}

// ratio is a/b, or 0 when b is 0 (a missing row).
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// www is the document root nginx reports to php-fpm: its pool's www/.
func www(p *Pool) string { return filepath.Join(p.Dir, "www") }

// secs is f seconds as a Duration, which a table cell rounds to three
// digits.
func secs(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// verdict marks a reading against its target.
func verdict(met bool) string {
	if met {
		return "met"
	}
	return "MISSED"
}

// quickNote is what a table's heading adds in the quick run.
func quickNote() string {
	if quick {
		return " — quick run (BENCH_QUICK): short windows, figures are rough"
	}
	return ""
}
