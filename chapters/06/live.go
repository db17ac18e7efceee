package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/corofpm/corofpm/fpm/scoreboard"
	"github.com/corofpm/corofpm/net/fastcgi"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

// liveResult is what step 3 sent and saw.
type liveResult struct {
	// Sent counts the requests sent through nginx, and OK those answered
	// 200; Slow those that sleep past request_slowlog_timeout.
	Sent, OK, Slow int
	// Dawdled counts the direct FastCGI requests sent slowly, and
	// DawdledOK those answered.
	Dawdled, DawdledOK int
	// Samples counts the slots read by the sampler, by stage.
	Samples map[scoreboard.Stage]int
	// Frames is how many tables were printed.
	Frames int
	// Slots is the most slots seen in use at once.
	Slots int
}

// Distinct is how many stages were seen.
func (r liveResult) Distinct() int { return len(r.Samples) }

// How often the live table is printed: redrawn in place on a terminal,
// else printed one snapshot after another (a file, a pipe, a test).
const (
	redrawEvery   = 200 * time.Millisecond
	snapshotEvery = 750 * time.Millisecond
	sampleEvery   = time.Millisecond
)

// live runs step 3: the load, the live table, and the stage count.
func live(n *narrator.Narrator, l *lab, cfg settings, term io.Writer) (liveResult, error) {
	res := liveResult{Samples: map[scoreboard.Stage]int{}}
	n.Say("%d clients through nginx, each GET /sleep.php?ms=%v in turn;", cfg.clients, cfg.sleeps)
	n.Say("%d clients straight to the pool that send their FastCGI request's first record, then trickle the rest over %s",
		cfg.dawdlers, cfg.dawdle)

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { sendLoad(l, cfg, &res) })
	wg.Go(func() { dawdle(l, cfg, &res) })
	sampled := make(chan struct{})
	go func() { sample(l.board, done, &res); close(sampled) }()
	loaded := make(chan struct{})
	go func() { wg.Wait(); close(loaded) }()

	every := snapshotEvery
	if term != nil {
		every = redrawEvery
	}
	began, lines := time.Now(), 0
	tick := time.NewTicker(every)
	for waiting := true; waiting; {
		select {
		case <-loaded:
			waiting = false
		case <-tick.C:
			if term != nil && lines > 0 {
				fmt.Fprintf(term, "\x1b[%dA\x1b[J", lines) // cursor up, clear to the end
			}
			lines = frame(n, l.board, time.Since(began))
			res.Frames++
		}
	}
	tick.Stop()
	close(done)
	<-sampled

	n.Say("a sampler read every slot every %s during the load; what it found them doing:", sampleEvery)
	t := n.Table("state", "php-fpm's stage", "samples", "share")
	total := 0
	for _, c := range res.Samples {
		total += c
	}
	for st := scoreboard.Creating; st <= scoreboard.Finishing; st++ {
		if c := res.Samples[st]; c > 0 {
			t.Row(st.String(), st.Enum(), c, fmt.Sprintf("%.1f%%", 100*float64(c)/float64(total)))
		}
	}
	t.Print()
	n.Say("%d distinct stages seen. Reading headers lasts as long as the client takes to send its request;", res.Distinct())
	n.Say("the stages between (request information, ending, finishing) last microseconds, and a sampler rarely catches them.")
	if res.OK != res.Sent || res.DawdledOK != res.Dawdled {
		return res, fmt.Errorf("answered %d of %d requests through nginx and %d of %d direct ones",
			res.OK, res.Sent, res.DawdledOK, res.Dawdled)
	}
	return res, nil
}

// frame prints the scoreboard as it is now, and returns how many lines
// that took.
func frame(n *narrator.Narrator, b *scoreboard.Board, since time.Duration) int {
	pool := b.Pool()
	n.Say("t=%.2fs  accepted conn %d, active %d, idle %d (the master's last count)",
		since.Seconds(), pool.AcceptedConn, pool.ActiveProcesses, pool.IdleProcesses)
	t := n.Table("slot", "pid", "state", "requests", "duration", "request")
	views := b.Snapshot()
	for _, v := range views {
		req := "-"
		if v.Requests > 0 {
			req = v.Method + " " + v.URI
		}
		t.Row(v.Index, v.PID, v.Stage.String(), v.Requests, v.RequestDuration.Round(time.Millisecond), req)
	}
	t.Print()
	return 1 + 2 + len(views)
}

// sample reads every slot each sampleEvery until done, and counts stages.
func sample(b *scoreboard.Board, done <-chan struct{}, res *liveResult) {
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		views := b.Snapshot()
		res.Slots = max(res.Slots, len(views))
		for _, v := range views {
			res.Samples[v.Stage]++
		}
	}
}

// sendLoad runs the clients through nginx: client i sends the sleeps list
// starting at its i-th element, so that they do not move in step.
func sendLoad(l *lab, cfg settings, res *liveResult) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range cfg.clients {
		wg.Go(func() {
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			for k := range cfg.sleeps {
				ms := cfg.sleeps[(i+k)%len(cfg.sleeps)]
				ok := get(client, l.ngx.URL(fmt.Sprintf("/sleep.php?ms=%d", ms))) == http.StatusOK
				mu.Lock()
				res.Sent++
				if ok {
					res.OK++
				}
				if time.Duration(ms)*time.Millisecond > cfg.slowlog {
					res.Slow++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

func get(client *http.Client, url string) int {
	resp, err := client.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// dawdle sends cfg.dawdlers requests straight to the pool, one a second
// from 0.2 s on, each written slowly: a worker that accepted one waits
// in Reading headers.
func dawdle(l *lab, cfg settings, res *liveResult) {
	began := time.Now()
	for i := range cfg.dawdlers {
		time.Sleep(time.Until(began.Add(200*time.Millisecond + time.Duration(i)*time.Second)))
		res.Dawdled++
		if dawdleOne(l.fpm.Addr, cfg.dawdle) == nil {
			res.DawdledOK++
		}
	}
}

// ANCHOR: dawdler
// dawdler is a connection that writes the first record of a request (the
// 16 bytes of BEGIN_REQUEST), then trickles the rest in three pieces over
// pause: a slow client, or a slow network, seen from the worker.
type dawdler struct {
	net.Conn
	pause time.Duration
}

func (d *dawdler) Write(p []byte) (int, error) {
	const begin = 16 // header (8) + body (8)
	n, err := d.Conn.Write(p[:begin])
	for rest := p[begin:]; err == nil && len(rest) > 0; {
		time.Sleep(d.pause / 3)
		piece := rest[:min(len(rest), (len(p)-begin+2)/3)]
		var m int
		m, err = d.Conn.Write(piece)
		n, rest = n+m, rest[m:]
	}
	return n, err
}

// ANCHOR_END: dawdler

func dawdleOne(addr string, pause time.Duration) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = fastcgi.NewClient(&dawdler{Conn: conn, pause: pause}).Do(fastcgi.Call{Params: map[string]string{
		"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/hello.php", "SCRIPT_FILENAME": "/hello.php",
		"REQUEST_URI": "/hello.php", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
	}})
	return err
}
