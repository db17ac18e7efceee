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
	"os/exec"
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

// RunWrk runs wrk -t2 -cCONNS -dD against url and parses its report. wrk
// is killed if it runs 30 s past d: a bound, in case it hangs.
func RunWrk(url string, conns int, d time.Duration) (Wrk, error) {
	path, err := peer.Look("wrk")
	if err != nil {
		return Wrk{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	secs := strconv.Itoa(max(1, int(d.Round(time.Second)/time.Second))) + "s"
	out, err := exec.CommandContext(ctx, path, "-t2", "-c"+strconv.Itoa(conns), "-d"+secs, url).CombinedOutput()
	if err != nil {
		return Wrk{}, fmt.Errorf("bench: wrk %s: %w\n%s", url, err, out)
	}
	w, err := ParseWrk(out)
	if err != nil {
		return Wrk{}, fmt.Errorf("bench: wrk %s: %w\n%s", url, err, out)
	}
	return w, nil
}

// ParseWrk reads wrk's report. The lines it needs look like this (the
// error lines appear only when there were errors):
//
//	  101808 requests in 5.00s, 15.34MB read
//	  Socket errors: connect 0, read 12, write 0, timeout 3
//	  Non-2xx or 3xx responses: 7
//	Requests/sec:  20352.18
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
