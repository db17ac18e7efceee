// Package bench measures corofpm side by side with the real programs it
// models: php-fpm behind the same nginx, Go's net/http/fcgi, and nginx
// answering by itself, the ceiling. Every figure is measured in the same
// run and reported as a ratio, because an absolute req/s says more about
// the machine than about the server.
//
// The peers are programs, not Go modules, so this is a package of the main
// module: it starts php-fpm, corofpm and nginx as children on free loopback
// ports with configurations in a temp dir, drives them with wrk, and stops
// them by pid. `make bench-fpm` runs its benchmarks.
package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/corofpm/corofpm/tutorial/peer"
)

// Wrk is what one wrk run reported.
type Wrk struct {
	// Requests is the number of responses wrk read, of any status.
	Requests int
	// RPS is wrk's "Requests/sec": Requests over the run's duration.
	RPS float64
	// Non2xx counts responses with a status outside 2xx and 3xx: for a
	// FastCGI server behind nginx, mostly 502 (no server) and 504 (timeout).
	Non2xx int
	// Connect, Read, Write and Timeout are wrk's socket errors. A timeout
	// is a request with no answer within wrk's --timeout.
	Connect, Read, Write, Timeout int
	// Duration is how long wrk measured, by its own clock.
	Duration time.Duration
	// Mean, P50 and P99 are the latency of the answers that came within
	// wrk's --timeout (wrk leaves later ones out of its statistics and
	// counts them as Timeout), in microseconds as wrk keeps them.
	Mean, P50, P99 time.Duration
}

// Errors is every request that did not end in a 2xx or 3xx answer.
func (w Wrk) Errors() int { return w.Non2xx + w.Connect + w.Read + w.Write + w.Timeout }

// Add sums the counts of two runs (RPS is not summed: it is a rate).
func (w Wrk) Add(o Wrk) Wrk {
	w.Requests += o.Requests
	w.Non2xx += o.Non2xx
	w.Connect += o.Connect
	w.Read += o.Read
	w.Write += o.Write
	w.Timeout += o.Timeout
	return w
}

// Summary is the error counts for a table cell: "0", or the total and its
// kinds, "12 (10 timeout, 2 non-2xx)".
func (w Wrk) Summary() string {
	if w.Errors() == 0 {
		return "0"
	}
	var kinds []string
	for _, k := range []struct {
		n    int
		name string
	}{{w.Non2xx, "non-2xx"}, {w.Connect, "connect"}, {w.Read, "read"}, {w.Write, "write"}, {w.Timeout, "timeout"}} {
		if k.n > 0 {
			kinds = append(kinds, fmt.Sprintf("%d %s", k.n, k.name))
		}
	}
	return fmt.Sprintf("%d (%s)", w.Errors(), strings.Join(kinds, ", "))
}

// RunWrk runs wrk -t2 -cCONNS -dD against url, with wrk's default 2 s
// timeout, and parses its report.
func RunWrk(url string, conns int, d time.Duration) (Wrk, error) {
	return WrkRun{URL: url, Conns: conns, Duration: d}.Run()
}

// WrkRun is one run of wrk -t2 --latency: Conns connections, each sending
// its next request when the last is answered, for Duration.
type WrkRun struct {
	URL      string
	Conns    int
	Duration time.Duration
	// Timeout is wrk's --timeout: an answer that takes longer is counted
	// as a timeout and left out of the latency figures; 0 keeps wrk's 2 s.
	Timeout time.Duration
}

// latencyScript is a wrk script whose done() prints the figures wrk's
// report rounds to three digits (2.00s), exact to the microsecond: a mean
// of 2.004 s and one of 2.000 s differ by what Little's law is asked to
// show. One line, "bench: duration_us N requests N mean_us X p50_us N
// p99_us N".
const latencyScript = `done = function(summary, latency, requests)
  io.write(string.format("bench: duration_us %d requests %d mean_us %.1f p50_us %d p99_us %d\n",
    summary.duration, summary.requests, latency.mean, latency:percentile(50), latency:percentile(99)))
end
`

// Run runs wrk and parses its report. wrk is killed if it runs 30 s past
// its Duration and Timeout: a bound, in case it hangs.
func (r WrkRun) Run() (Wrk, error) {
	path, err := peer.Look("wrk")
	if err != nil {
		return Wrk{}, err
	}
	dir, err := os.MkdirTemp("", "wrk")
	if err != nil {
		return Wrk{}, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "latency.lua")
	if err := os.WriteFile(script, []byte(latencyScript), 0o644); err != nil {
		return Wrk{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.Duration+r.Timeout+30*time.Second)
	defer cancel()
	args := []string{"-t2", "--latency", "-s", script, "-c" + strconv.Itoa(r.Conns), "-d" + seconds(r.Duration)}
	if r.Timeout > 0 {
		args = append(args, "--timeout", seconds(r.Timeout))
	}
	out, err := exec.CommandContext(ctx, path, append(args, r.URL)...).CombinedOutput()
	if err != nil {
		return Wrk{}, fmt.Errorf("bench: wrk %s: %w\n%s", r.URL, err, out)
	}
	w, err := ParseWrk(out)
	if err != nil {
		return Wrk{}, fmt.Errorf("bench: wrk %s: %w\n%s", r.URL, err, out)
	}
	return w, nil
}

// seconds spells d as wrk takes it: whole seconds, at least one.
func seconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(d.Round(time.Second)/time.Second))) + "s"
}

// ParseWrk reads wrk's report. The lines it needs look like this (the
// error lines appear only when there were errors):
//
//	  101808 requests in 5.00s, 15.34MB read
//	  Socket errors: connect 0, read 12, write 0, timeout 3
//	  Non-2xx or 3xx responses: 7
//	Requests/sec:  20352.18
//
// and, from the latency script's done(), the exact figures:
//
//	bench: duration_us 5000812 requests 101808 mean_us 3101.4 p50_us 2950 p99_us 7012
func ParseWrk(out []byte) (Wrk, error) {
	var w Wrk
	var sawRPS, sawRequests bool
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(strings.ReplaceAll(line, ",", ""))
		var err error
		switch {
		case strings.HasPrefix(line, "Requests/sec:") && len(f) == 2:
			w.RPS, err = strconv.ParseFloat(f[1], 64)
			sawRPS = true
		case strings.Contains(line, " requests in ") && len(f) > 0:
			w.Requests, err = strconv.Atoi(f[0])
			sawRequests = true
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:"):
			w.Non2xx, err = strconv.Atoi(f[len(f)-1])
		case strings.HasPrefix(line, "bench: duration_us ") && len(f) == 11:
			var us [4]float64
			for i, j := range []int{2, 6, 8, 10} {
				if us[i], err = strconv.ParseFloat(f[j], 64); err != nil {
					break
				}
			}
			w.Duration, w.Mean, w.P50, w.P99 = micros(us[0]), micros(us[1]), micros(us[2]), micros(us[3])
		case strings.HasPrefix(line, "Socket errors:") && len(f) == 10:
			for i, p := range []*int{&w.Connect, &w.Read, &w.Write, &w.Timeout} {
				if *p, err = strconv.Atoi(f[3+2*i]); err != nil {
					break
				}
			}
		}
		if err != nil {
			return Wrk{}, fmt.Errorf("line %q: %w", line, err)
		}
	}
	if !sawRPS || !sawRequests {
		return Wrk{}, fmt.Errorf("no \"requests in\" or \"Requests/sec\" line in wrk's output")
	}
	return w, nil
}

// micros is us microseconds as a Duration.
func micros(us float64) time.Duration { return time.Duration(us * float64(time.Microsecond)) }

// LittleRPS is the steady-state throughput of a closed loop by Little's
// law: conns requests always in flight, each taking the mean latency, make
// conns / mean requests a second. Unlike Requests over the window, it is
// not quantized by whole rounds of a slow answer: 800 connections on a
// 2 s upstream complete in bursts of 800 every 2 s, so a 10 s window
// holds 4 or 5 bursts, 320 or 400 req/s, while conns / mean says 399.
// 0 without a mean.
func (w Wrk) LittleRPS(conns int) float64 {
	if w.Mean <= 0 {
		return 0
	}
	return float64(conns) / w.Mean.Seconds()
}
