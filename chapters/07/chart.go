package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/corofpm/corofpm/tutorial/narrator"
)

// column is how much time one character of the text chart covers.
const column = 250 * time.Millisecond

// bars are the heights of a sparkline, from one worker to the scale's top;
// a column without workers is a dot, so that zero is seen.
var bars = []rune("▁▂▃▄▅▆▇█")

// showChart prints the samples as one sparkline per pool, on one scale,
// under a line that marks the burst: each character is the most workers
// counted in its column of time.
func showChart(n *narrator.Narrator, res stepLoad, sample time.Duration) {
	top := 1
	for _, s := range res.Samples {
		for _, w := range s.Workers {
			top = max(top, w)
		}
	}
	end := res.Samples[len(res.Samples)-1].At
	cols := int(end/column) + 1
	axis := make([]rune, cols+4)
	for i := range axis {
		axis[i] = ' '
	}
	for c := 0; c < cols; c += int(2 * time.Second / column) {
		copy(axis[c:], []rune(fmt.Sprintf("%ds", c*int(column/time.Millisecond)/1000)))
	}
	n.Say("%-10s %s", "", strings.TrimRight(string(axis), " "))
	load := make([]rune, cols)
	for c := range load {
		at := time.Duration(c) * column
		load[c] = '·'
		if at+column > res.BurstAt && at < res.QuietAt {
			load[c] = '━'
		}
	}
	n.Say("%-10s %s", "load", string(load))
	for i, p := range res.Pools {
		line := make([]rune, cols)
		high := make([]int, cols)
		for c := range high {
			high[c] = -1
		}
		for _, s := range res.Samples {
			c := int(s.At / column)
			high[c] = max(high[c], s.Workers[i])
		}
		for c, w := range high {
			switch {
			case w < 0 && c > 0:
				line[c] = line[c-1] // no sample fell in this column
			case w <= 0:
				line[c] = '·'
			default:
				line[c] = bars[(w*len(bars)-1)/top]
			}
		}
		n.Say("%-10s %s %d→%d→%d", p.Name, string(line), p.Before, p.Peak, p.After)
	}
	n.Say("one character = %s, the highest of its samples (one every %s); a full block = %d workers", column, sample, top)
}

// batch is workers the process manager started in one go: their start
// times (from /proc) less than 250 ms apart. Maintenance seconds are a
// second apart, and the forks of one follow each other closely.
type batch struct {
	At      time.Duration // since the burst began
	Started int
	Workers int // after it
}

// batches reads a pool's spawn batches from the burst on.
func batches(res stepLoad, p poolFigures) []batch {
	var out []batch
	workers := p.Before
	var last time.Duration
	for _, st := range p.Starts {
		if st < res.BurstAt {
			continue
		}
		workers++
		if len(out) > 0 && st-last < 250*time.Millisecond {
			out[len(out)-1].Started++
			out[len(out)-1].Workers = workers
		} else {
			out = append(out, batch{At: st - res.BurstAt, Started: 1, Workers: workers})
		}
		last = st
	}
	return out
}

var spawningRe = regexp.MustCompile(`spawning (\d+) children`)

// spawnRates are the rates in the master's "seems busy" warnings.
func spawnRates(log string) []int {
	var rates []int
	for _, m := range spawningRe.FindAllStringSubmatch(log, -1) {
		r, _ := strconv.Atoi(m[1])
		rates = append(rates, r)
	}
	return rates
}

// logLines returns the lines of log that contain any of the texts.
func logLines(log string, texts ...string) []string {
	var lines []string
	for _, line := range strings.Split(log, "\n") {
		for _, t := range texts {
			if strings.Contains(line, t) {
				lines = append(lines, line)
				break
			}
		}
	}
	return lines
}

// poolIndex is the position of the named pool in the step's pools.
func (s *stepLoad) poolIndex(name string) int {
	for i, p := range s.Pools {
		if p.Name == name {
			return i
		}
	}
	return -1
}

// showDoubling prints the dynamic pool's spawn batches and what its
// master logged about them.
func showDoubling(n *narrator.Narrator, res *stepLoad) {
	i := res.poolIndex("dynamic")
	n.Say("when each worker of the dynamic pool was started (/proc/PID/stat), grouped:")
	t := n.Table("s after the burst began", "workers started", "workers then")
	for _, b := range batches(*res, res.Pools[i]) {
		t.Row(b.At.Seconds(), b.Started, b.Workers)
	}
	t.Print()
	n.Say("each second the pool has fewer idle workers than pm.min_spare_servers, the manager")
	n.Say("starts min(rate, min_spare - idle, max_children - total) and doubles the rate")
	n.Say("(up to pm.max_spawn_rate); a second with enough idle workers sets it back to 1.")
	n.Say("from a rate of 8 the master warns; at the ceiling it warns once:")
	for _, line := range logLines(res.Pools[i].Log, "seems busy", "reached pm.max_children") {
		n.Say("  %s", line)
	}
}

// save writes the samples as CSV in dir, and where -csv and -svg ask.
func (s *stepLoad) save(dir string, out output) error {
	csv := s.csv()
	if err := os.WriteFile(filepath.Join(dir, "workers.csv"), []byte(csv), 0o644); err != nil {
		return err
	}
	if out.csv != "" {
		if err := os.WriteFile(out.csv, []byte(csv), 0o644); err != nil {
			return err
		}
	}
	if out.svg != "" {
		return os.WriteFile(out.svg, []byte(s.svg()), 0o644)
	}
	return nil
}

// csv is the samples, one a line:
//
//	seconds,phase,static,dynamic,ondemand
//	0.000,before,8,16,0
func (s *stepLoad) csv() string {
	var b strings.Builder
	b.WriteString("seconds,phase")
	for _, p := range s.Pools {
		b.WriteString("," + p.Name)
	}
	b.WriteString("\n")
	for _, sm := range s.Samples {
		fmt.Fprintf(&b, "%.3f,%s", sm.At.Seconds(), sm.Phase)
		for _, w := range sm.Workers {
			fmt.Fprintf(&b, ",%d", w)
		}
		b.WriteString("\n")
	}
	return b.String()
}
