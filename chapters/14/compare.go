package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/corofpm/corofpm/tutorial/load"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

// compare prints both pools against their ceilings, with the wait Little's
// law gives each request in the steady state of the closed loop.
func compare(n *narrator.Narrator, cfg settings, pools ...poolResult) {
	t := n.Table("pool", "processes", "at once", "answered", "req/s", "ceiling", "of ceiling", "mean latency", "clients / req/s")
	for _, p := range pools {
		l := p.Load
		t.Row(p.Pool.name, len(p.Workers), min(cfg.clients, p.Pool.slots), l.Count(200), l.Throughput(), p.Ceiling,
			fmt.Sprintf("%.0f%%", 100*l.Throughput()/p.Ceiling), mean(l), wait(cfg.clients, l))
	}
	t.Print()
	b, c := pools[0].Load.Throughput(), pools[len(pools)-1].Load.Throughput()
	n.Say("the coroutine pool completed %.1fx the blocking pool's requests, on the same %d processes.", c/b, cfg.workers)
	n.Say("ceiling: requests served at once / %s. The last column is Little's law (clients = req/s ×", cfg.delay)
	n.Say("wait): the wait of a request once the loop is steady. For the blocking pool it is far past")
	n.Say("the window: the answers counted are the front of the queue, the rest wait in the backlog,")
	n.Say("and a real crowd there meets nginx's 504 (chapter 03).")
}

// mean is the mean latency of the answered requests.
func mean(l load.Result) time.Duration {
	if len(l.Latencies) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range l.Latencies {
		sum += d
	}
	return sum / time.Duration(len(l.Latencies))
}

// wait is Little's law solved for the wait: clients / throughput.
func wait(clients int, l load.Result) time.Duration {
	if l.Throughput() == 0 {
		return 0
	}
	return time.Duration(float64(clients) / l.Throughput() * float64(time.Second))
}

// writeCSV writes the upstream calls in flight over time, one column per
// pool, for the docs' chart.
func writeCSV(path string, cfg settings, pools ...poolResult) error {
	header := []string{"time (s)"}
	rows := 0
	for _, p := range pools {
		header = append(header, fmt.Sprintf("%s (%d processes × %d)", p.Pool.name, len(p.Workers), p.Pool.slots/cfg.workers))
		rows = max(rows, len(p.InFlight))
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write(header)
	for i := range rows {
		row := []string{strconv.FormatFloat((time.Duration(i) * cfg.sample).Seconds(), 'f', 1, 64)}
		for _, p := range pools {
			cell := ""
			if i < len(p.InFlight) {
				cell = strconv.Itoa(p.InFlight[i])
			}
			row = append(row, cell)
		}
		w.Write(row)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
