package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/corofpm/corofpm/tutorial/peer"
)

// midRun is what the chapter saw in the middle of a load, when every
// client has a request out.
type midRun struct {
	// At is when, from the load's start.
	At time.Duration
	// Queued is the kernel's accept queue of the pool's socket: the
	// requests no worker has taken.
	Queued int
	// InFlight is the upstream's calls in flight: the requests some
	// worker is serving.
	InFlight int
	// Answered says whether the status page answered before the load
	// ended; Waited is how long the chapter waited for it.
	Answered bool
	Waited   time.Duration
	// Running counts the Running slots of each worker pid, the status
	// request's own slot left out; Slots is how many slots the page
	// listed.
	Running map[int]int
	Slots   int
	// Example is one Running slot as the page shows it.
	Example string
}

// statusPage is the part of the status page (?json&full) the chapter
// reads, in php-fpm's field names.
type statusPage struct {
	Processes []json.RawMessage `json:"processes"`
}

// slot is one entry of the page's processes: a worker of a blocking pool,
// a request of a coroutine pool.
type slot struct {
	PID   int    `json:"pid"`
	State string `json:"state"`
	URI   string `json:"request uri"`
}

// lookMidRun waits until 40% of the load's window d has gone, all clients
// in their second request, then reads the accept queue and the upstream's
// count and asks the status page, waiting for it until the window ends.
func lookMidRun(ngx *peer.Nginx, addr string, up *upstream, d time.Duration) <-chan midRun {
	out := make(chan midRun, 1)
	go func() {
		var m midRun
		defer func() { out <- m }()
		m.At = 4 * d / 10
		time.Sleep(m.At)
		m.Queued, _ = peer.ListenQueue(addr)
		m.InFlight = int(up.inFlight.Load())
		client := &http.Client{Timeout: d - m.At}
		t0 := time.Now()
		resp, err := client.Get(ngx.URL("/status?json&full"))
		m.Waited = time.Since(t0)
		if err != nil {
			return // no answer in time: the request waits in the same queue
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		var page statusPage
		if err != nil || json.Unmarshal(body, &page) != nil {
			return
		}
		m.Answered, m.Running, m.Slots = true, map[int]int{}, len(page.Processes)
		for _, raw := range page.Processes {
			var s slot
			if json.Unmarshal(raw, &s) != nil || s.State != "Running" || strings.HasPrefix(s.URI, "/status") {
				continue
			}
			m.Running[s.PID]++
			if m.Example == "" {
				m.Example = string(raw)
			}
		}
	}()
	return out
}

// showStatus prints, for each pool, the Running slots per worker the
// status page showed mid-run, or that it did not answer.
func showStatus(n *narrator.Narrator, pools ...poolResult) {
	for _, p := range pools {
		m := p.Mid
		if !m.Answered {
			n.Say("%s pool: GET /status?json&full at %s got no answer in %s: the status page is served by",
				p.Pool.name, m.At.Round(time.Millisecond), m.Waited.Round(time.Millisecond))
			n.Say("  a worker too, and its request waited in the accept queue behind the other %d", m.Queued)
			continue
		}
		total := 0
		for _, k := range m.Running {
			total += k
		}
		n.Say("%s pool: the page listed %d slots, %d of them Running a request (the status request aside):",
			p.Pool.name, m.Slots, total)
		t := n.Table("worker pid", "requests Running")
		pids := append([]int(nil), p.Workers...)
		for pid := range m.Running {
			if !slices.Contains(pids, pid) {
				pids = append(pids, pid)
			}
		}
		for _, pid := range pids {
			t.Row(pid, m.Running[pid])
		}
		t.Print()
		if m.Example != "" {
			n.Detail("one of them: %s", m.Example)
		}
	}
	n.Say("a coroutine worker takes a scoreboard slot per request, not per process: the page shows")
	n.Say("every request in flight, where php-coroutine-engine showed one slot per worker")
}

// String is the mid-run figures on one line, for a test's messages.
func (m midRun) String() string {
	return fmt.Sprintf("at %s: queued %d, in flight %d, status answered %v, running %v", m.At, m.Queued, m.InFlight, m.Answered, m.Running)
}
