package echo

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corofpm/corofpm/tutorial/bench"
)

// TestServersEcho checks that every server is a correct echo before the
// benchmark counts on it: a 1 KiB message comes back whole, and so does
// 4 MiB written while it is read, more than the socket buffers hold, so
// that each server's partial writes and write buffering take part.
func TestServersEcho(t *testing.T) {
	for _, role := range Servers {
		t.Run(role, func(t *testing.T) {
			s := startServer(t, role)
			c, err := net.Dial("tcp", s.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			for _, size := range []int{1 << 10, 4 << 20} {
				msg := bytes.Repeat([]byte("0123456789abcdef"), size/16)
				sent := make(chan error, 1)
				go func() {
					_, err := c.Write(msg)
					sent <- err
				}()
				got := make([]byte, size)
				if _, err := io.ReadFull(c, got); err != nil {
					t.Fatalf("%d bytes: %v", size, err)
				}
				if err := <-sent; err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, msg) {
					t.Fatalf("%d bytes: the echo differs from what was sent", size)
				}
			}
		})
	}
}

// The throughput run, from the issue: 1 KiB messages on 100 connections,
// each server with one thread of work. Each round measures every server
// for echoMeasure after echoWarmup. Other programs on a shared machine
// move round trips/s by a third from one second to the next, so the
// rounds are short and many, the servers take turns within each round
// (each round starting with the next one), and a ratio is the median of
// the ratios of one round, whose servers ran seconds apart.
const (
	echoConns   = 100
	echoSize    = 1 << 10
	echoWarmup  = 300 * time.Millisecond
	echoMeasure = time.Second
	echoRounds  = 15
)

// echoRow is one line of the throughput table.
type echoRow struct {
	s *server
	// rps, cpu and client have one figure per round: round trips per
	// second, and the server's and the client's CPU time per round trip,
	// in µs.
	rps, cpu, client []float64
	errors           int64
	// others is the CPU that programs outside this benchmark took during
	// each of the row's rounds, in % of the machine.
	others []float64
	// median is the row's figure; vsGnet and vsNetConn are its ratios to
	// gnet's and net.Conn's round trips/s in the same round.
	median            float64
	vsGnet, vsNetConn spread
}

// vs is the spread of the ratios of r's round trips/s to o's, round by
// round.
func (r *echoRow) vs(o *echoRow) spread {
	var rs []float64
	for i := range min(len(r.rps), len(o.rps)) {
		rs = append(rs, ratio(r.rps[i], o.rps[i]))
	}
	return spreadOf(rs)
}

// spread is a median with the quartiles around it: half the rounds fall
// between lo and hi.
type spread struct{ mid, lo, hi float64 }

// spreadOf is the spread of xs; zero for none.
func spreadOf(xs []float64) spread {
	if len(xs) == 0 {
		return spread{}
	}
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	return spread{mid: s[n/2], lo: s[n/4], hi: s[3*n/4]}
}

// String is "1.05 (0.97–1.12)": the median, then the quartiles.
func (s spread) String() string {
	if s.lo == s.hi {
		return fmt.Sprintf("%.2f", s.mid)
	}
	return fmt.Sprintf("%.2f (%.2f–%.2f)", s.mid, s.lo, s.hi)
}

// BenchmarkEcho is the throughput target: net/reactor should
// reach 0.8× gnet with one event loop and 1.0× a goroutine-per-connection
// server held to GOMAXPROCS=1, measured side by side in one run.
func BenchmarkEcho(b *testing.B) {
	var rows []*echoRow
	byRole := map[string]*echoRow{}
	for _, role := range Servers {
		r := &echoRow{s: startServer(b, role)}
		rows, byRole[role] = append(rows, r), r
	}
	for round := range echoRounds {
		for i := range rows { // each round starts with another server
			rows[(round+i)%len(rows)].measure(b)
		}
	}
	for _, r := range rows {
		r.median = median(r.rps)
		r.vsGnet, r.vsNetConn = r.vs(byRole[Gnet]), r.vs(byRole[NetConn])
	}
	printEcho(rows)
	for _, r := range rows {
		b.Run(strings.ReplaceAll(r.s.role, ".", "_"), func(b *testing.B) {
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(r.median, "trips/s")
			b.ReportMetric(r.vsGnet.mid, "x-gnet")
			b.ReportMetric(r.vsNetConn.mid, "x-net.Conn")
			b.ReportMetric(median(r.cpu), "server-us/trip")
			b.ReportMetric(float64(r.errors), "errors")
		})
	}
}

// measure runs one round on the row's server: the load starts, warms up,
// and only the round trips and the CPU time of server and client between
// two snapshots taken after the warm-up count.
func (r *echoRow) measure(b *testing.B) {
	load, err := StartLoad(r.s.addr, echoConns, echoSize, echoWarmup+echoMeasure+10*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		load.Stop()
		r.errors += load.Errors()
	}()
	time.Sleep(echoWarmup)
	self := os.Getpid()
	cpu0, server0, client0 := bench.ReadCPU(), bench.ProcessCPU(r.s.p.Pid), bench.ProcessCPU(self)
	trips0, t0 := load.Trips(), time.Now()
	time.Sleep(echoMeasure)
	trips, elapsed := load.Trips()-trips0, time.Since(t0)
	server, client := bench.ProcessCPU(r.s.p.Pid)-server0, bench.ProcessCPU(self)-client0
	r.others = append(r.others, bench.Others(cpu0, bench.ReadCPU()))
	r.rps = append(r.rps, float64(trips)/elapsed.Seconds())
	if trips > 0 {
		r.cpu = append(r.cpu, float64(server.Microseconds())/float64(trips))
		r.client = append(r.client, float64(client.Microseconds())/float64(trips))
	}
}

// printEcho prints the throughput table.
func printEcho(rows []*echoRow) {
	say.Step("echo, %d B messages, %d connections each with one in flight, %s per round after %s of warm-up, median of %d rounds",
		echoSize, echoConns, echoMeasure, echoWarmup, echoRounds)
	t := say.Table("server", "round trips/s", "MB/s", "× gnet", "× net.Conn", "server CPU/trip", "client CPU/trip", "errors", "others' CPU")
	for _, r := range rows {
		t.Row(r.s.role, int64(r.median), r.median*echoSize/1e6, r.vsGnet, r.vsNetConn,
			fmt.Sprintf("%.2fµs", median(r.cpu)), fmt.Sprintf("%.2fµs", median(r.client)), r.errors,
			fmt.Sprintf("%.0f%%", median(r.others)))
	}
	t.Print()
	say.Say("Every server runs in a process of its own with GOMAXPROCS=1: reactor and gnet turn one event loop, net.Conn a goroutine per connection.")
	say.Say("The client is this process, a goroutine per connection, on the same %d CPUs as the server.", runtime.NumCPU())
	say.Say("× gnet, × net.Conn: the median of the ratios of one round, whose servers ran a second apart; in brackets, the quartiles.")
	say.Say("MB/s: message bytes echoed back per second (as many went the other way). CPU/trip: user+system time per round trip.")
	say.Say("others' CPU: what programs outside this benchmark took of the machine, median over the rounds.")
	say.Say("Target: reactor ≥ 0.80× gnet and ≥ 1.00× net.Conn.")
}
