package echo

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// idleConns is the count of idle connections; idleTarget is what
// each may cost the reactor server beyond the kernel's socket buffers.
const (
	idleConns  = 10000
	idleTarget = 2 << 10
)

// idleRow is one line of the idle-memory table.
type idleRow struct {
	role          string
	conns         int
	before, after int64 // the server's VmRSS, bytes
}

// perConn is the RSS the server grew by per connection.
func (r idleRow) perConn() float64 { return float64(r.after-r.before) / float64(r.conns) }

// BenchmarkIdle is the memory target: 10,000 idle connections
// should cost the reactor server less than 2 KiB each beyond the kernel's
// socket buffers (which are kernel memory, outside RSS). Each server is
// started afresh, answers one echo so that its first-use allocations are
// made, and its VmRSS is read before the connections and after it has
// accepted them all.
func BenchmarkIdle(b *testing.B) {
	n := idleCount(b)
	var rows []idleRow
	for _, role := range Servers {
		rows = append(rows, measureIdle(b, role, n))
	}
	say.Step("%d idle connections held by each server: its VmRSS before and after", n)
	t := say.Table("server", "connections", "RSS before", "RSS after", "per connection")
	for _, r := range rows {
		t.Row(r.role, r.conns, kib(float64(r.before)), kib(float64(r.after)), kib(r.perConn()))
	}
	t.Print()
	say.Say("The kernel's socket buffers are not in RSS: per connection is what the server itself keeps for it.")
	say.Say("Target: reactor < %s per connection.", kib(idleTarget))
	for _, r := range rows {
		b.Run(r.role, func(b *testing.B) {
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(r.perConn(), "B/conn")
		})
	}
}

// idleCount is idleConns, or fewer if the fd limit is lower: this process
// holds the client ends, and each server, a process of its own with the
// same limit, the other ends. Go raises the soft limit to the hard one at
// start, in this process and in the servers alike.
func idleCount(tb testing.TB) int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		tb.Fatal(err)
	}
	const spare = 100 // the test binary's and the servers' own fds
	n := min(idleConns, int(lim.Cur)-spare)
	if n < idleConns {
		say.Warn("RLIMIT_NOFILE is %d: %d idle connections instead of %d", lim.Cur, n, idleConns)
	}
	return n
}

// measureIdle starts role, warms it with one echo, and reads its RSS
// before and after n idle connections, once the server holds an fd for
// every one of them.
func measureIdle(tb testing.TB, role string, n int) idleRow {
	s := startServer(tb, role)
	warm, err := StartLoad(s.addr, 1, echoSize, 10*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	warm.Stop()
	time.Sleep(100 * time.Millisecond) // the server closes its end
	pid := s.p.Pid
	fds0, err := OpenFDs(pid)
	if err != nil {
		tb.Fatal(err)
	}
	before, err := RSS(pid)
	if err != nil {
		tb.Fatal(err)
	}
	conns, err := OpenIdle(s.addr, n)
	if err != nil {
		tb.Fatal(err)
	}
	defer CloseAll(conns)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		fds, err := OpenFDs(pid)
		if err != nil {
			tb.Fatal(err)
		}
		if fds >= fds0+n {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s holds %d of %d connections after 30s", role, fds-fds0, n)
		}
	}
	time.Sleep(200 * time.Millisecond) // let the accept callbacks finish
	after, err := RSS(pid)
	if err != nil {
		tb.Fatal(err)
	}
	return idleRow{role: role, conns: n, before: before, after: after}
}

// kib formats a byte count in KiB or MiB.
func kib(bytes float64) string {
	if bytes >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", bytes/(1<<20))
	}
	return fmt.Sprintf("%.2f KiB", bytes/(1<<10))
}
