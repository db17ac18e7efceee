package bench

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"time"
)

// CPU is a snapshot of where the machine's CPU time went: all of it, and
// the part spent by this process and its descendants (the servers, nginx,
// wrk). Between two snapshots, the difference is what other programs used
// while we measured: a benchmark on a shared machine prints it beside its
// figures, so that a row measured while something else ran can be spotted.
type CPU struct {
	// all and busy are the machine's time and its non-idle part, in clock
	// ticks summed over the cores, from /proc/stat.
	all, busy int64
	// ours is utime+stime+cutime+cstime summed over this process and every
	// live descendant. A child's time moves into its parent's cutime when
	// the parent reaps it, so the sum survives children that exit.
	ours int64
}

// ReadCPU takes a snapshot. Errors leave zeros: the figure is a guide, not
// a measurement the benchmark depends on.
func ReadCPU() CPU {
	var c CPU
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := bytes.Cut(b, []byte("\n"))
		f := strings.Fields(string(line)) // cpu user nice system idle iowait irq softirq steal ...
		for i := 1; i < len(f) && i <= 8; i++ {
			v, _ := strconv.ParseInt(f[i], 10, 64)
			c.all += v
			if i != 4 && i != 5 { // idle and iowait
				c.busy += v
			}
		}
	}
	parent := map[int]int{}
	ticks := map[int]int64{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		i := bytes.LastIndexByte(b, ')')
		if err != nil || i < 0 {
			continue
		}
		// After the command name: state ppid ... utime(11) stime cutime cstime.
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 15 {
			continue
		}
		parent[pid], _ = strconv.Atoi(f[1])
		for _, s := range f[11:15] {
			v, _ := strconv.ParseInt(s, 10, 64)
			ticks[pid] += v
		}
	}
	self := os.Getpid()
	for pid, t := range ticks {
		for p, hops := pid, 0; p > 1 && hops < 64; p, hops = parent[p], hops+1 {
			if p == self {
				c.ours += t
				break
			}
		}
	}
	return c
}

// Others is the CPU that programs outside this process tree used between
// a and b, as a percentage of all the machine's cores over that time.
func Others(a, b CPU) float64 {
	all := b.all - a.all
	other := (b.busy - a.busy) - (b.ours - a.ours)
	if all <= 0 || other <= 0 {
		return 0
	}
	return 100 * float64(other) / float64(all)
}

// clockTick is the unit of the times in /proc/PID/stat: USER_HZ, 100 on
// every Linux this runs on (sysconf(_SC_CLK_TCK)).
const clockTick = 10 * time.Millisecond

// ProcessCPU is the user plus system CPU time the processes pids have used
// so far (their own, not their reaped children's). Summed over an FPM's
// master and workers before and after a run, it gives the server's CPU
// per request: a figure that other programs on the machine barely move,
// unlike req/s.
func ProcessCPU(pids ...int) time.Duration {
	var ticks int64
	for _, pid := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		i := bytes.LastIndexByte(b, ')')
		if err != nil || i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		for _, s := range f[11:13] { // utime stime
			v, _ := strconv.ParseInt(s, 10, 64)
			ticks += v
		}
	}
	return time.Duration(ticks) * clockTick
}
