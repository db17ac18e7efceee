package main

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

// spawnCost is what step 7 measured: the time from starting a child to
// having reaped it, for a child that does nothing.
type spawnCost struct {
	Starts int     // of each kind
	Reexec timing  // this binary, re-executed with COROFPM_ROLE=true
	True   timing  // true(1), with os/exec
	Ratio  float64 // Reexec.Median / True.Median
	Self   int64   // the two binaries' sizes in bytes
	TrueB  int64
	TrueAt string // where true(1) is
}

// timing is the middle and the tail of one kind of start.
type timing struct {
	Median, P90 time.Duration
}

// ANCHOR: spawn-cost
// measureSpawn starts and reaps a child that exits at once, starts times
// of each kind, alternating the two so that a burst of load on the
// machine weighs on both alike.
func measureSpawn(n *narrator.Narrator, starts int) (c spawnCost, err error) {
	if c.TrueAt, err = exec.LookPath("true"); err != nil {
		return c, err
	}
	var reexec, trueT []time.Duration
	for range starts {
		t0 := time.Now()
		p, err := proc.Start(proc.Spec{Role: "true"})
		if err != nil {
			return c, err
		}
		if st, err := p.Wait(); err != nil || !st.Exited || st.Code != 0 {
			return c, fmt.Errorf("re-exec as true: %v %v", st, err)
		}
		reexec = append(reexec, time.Since(t0))

		t0 = time.Now()
		if err := exec.Command(c.TrueAt).Run(); err != nil {
			return c, fmt.Errorf("%s: %w", c.TrueAt, err)
		}
		trueT = append(trueT, time.Since(t0))
	}
	c.Starts = starts
	c.Reexec, c.True = timingOf(reexec), timingOf(trueT)
	c.Ratio = float64(c.Reexec.Median) / float64(c.True.Median)
	// ANCHOR_END: spawn-cost
	c.Self, c.TrueB = fileSize(os.Executable()), fileSize(c.TrueAt, nil)
	t := n.Table("start, then wait4", "binary size", "median", "p90", "of true(1)")
	t.Row("re-exec this binary (proc.Start)", mib(c.Self), c.Reexec.Median, c.Reexec.P90, fmt.Sprintf("%.1fx", c.Ratio))
	t.Row("exec "+c.TrueAt+" (os/exec)", mib(c.TrueB), c.True.Median, c.True.P90, "1.0x")
	t.Print()
	n.Say(`%d starts of each, alternated. Both are a vfork-style clone and an execve; the
difference is what runs after: true(1) is a small C program that the dynamic
loader maps and runs, while the re-executed child is a Go program whose runtime
starts first: it maps a bigger binary, sets up its heap and garbage collector,
starts its threads (step 1), and runs every package's init, before proc.Main
looks at COROFPM_ROLE. A pre-forking server pays this once per worker, at
start and at each respawn, never per request.`, c.Starts)
	return c, nil
}

// timingOf sorts d and returns its median and 90th percentile.
func timingOf(d []time.Duration) timing {
	slices.Sort(d)
	return timing{Median: d[len(d)/2], P90: d[len(d)*9/10]}
}

// fileSize is the size of the file at path, 0 if it cannot be read.
func fileSize(path string, err error) int64 {
	if err != nil {
		return 0
	}
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// mib prints a size in MiB, or KiB below one MiB.
func mib(b int64) string {
	if b < 1<<20 {
		return fmt.Sprintf("%.0f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}
