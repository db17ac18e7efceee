// Package load sends HTTP load and measures what comes back: the chapters'
// own small wrk, with exact per-request figures (every latency, every
// status) rather than a summary, and hard bounds on time and count.
package load

import (
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Result is what a load run measured.
type Result struct {
	// Status counts the answers by HTTP status; 0 counts transport errors
	// (connection refused or reset, timeouts of our own).
	Status map[int]int
	// Latencies of the requests that were answered, sorted.
	Latencies []time.Duration
	// Elapsed is the window the run measured over.
	Elapsed time.Duration
	// Span is from the start to the last answer inside the window: the
	// time the answered requests really took. A window usually ends in the
	// middle of requests that are then not counted; dividing by the whole
	// window would charge their time without their answers.
	Span time.Duration
}

// Answered returns how many requests got an HTTP answer, of any status.
func (r *Result) Answered() int { return len(r.Latencies) }

// Count returns how many requests got status (0: no answer).
func (r *Result) Count(status int) int { return r.Status[status] }

// Throughput is 200 answers per second over the span.
func (r *Result) Throughput() float64 {
	if r.Span <= 0 {
		return 0
	}
	return float64(r.Count(200)) / r.Span.Seconds()
}

// Percentile returns the latency below which a fraction p (0..1) of the
// answered requests fell; 0 when none was answered.
func (r *Result) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(p * float64(len(r.Latencies)-1))
	return r.Latencies[i]
}

// collector gathers outcomes from many goroutines.
type collector struct {
	start time.Time
	mu    sync.Mutex
	res   Result
}

func newCollector() *collector {
	return &collector{start: time.Now(), res: Result{Status: map[int]int{}}}
}

func (c *collector) add(status int, latency time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.res.Status[status]++
	if status != 0 {
		c.res.Latencies = append(c.res.Latencies, latency)
		c.res.Span = time.Since(c.start)
	}
}

func (c *collector) done() Result {
	slices.Sort(c.res.Latencies)
	c.res.Elapsed = time.Since(c.start)
	return c.res
}

// get does one GET and returns its status (0 for no answer).
func get(ctx context.Context, client *http.Client, url string) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0
	}
	return resp.StatusCode
}

// Closed runs a closed loop: clients clients, each on its own keep-alive
// connection, each sending its next request as soon as the last one was
// answered, for the duration d. Requests still unanswered at the end are
// cancelled and not counted: the throughput is what the server completed
// inside the window.
func Closed(url string, clients int, d time.Duration) Result {
	c := newCollector()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			tr := &http.Transport{MaxIdleConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			for ctx.Err() == nil {
				t0 := time.Now()
				status := get(ctx, client, url)
				if ctx.Err() != nil {
					return // cut by the end of the window: not counted
				}
				c.add(status, time.Since(t0))
				if status == 0 { // no server: don't spin
					time.Sleep(10 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	return c.done()
}

// Burst sends k requests at the same moment, each on a connection of its
// own, and waits up to timeout for all of them: what a server sees when a
// crowd arrives at once.
func Burst(url string, k int, timeout time.Duration) Result {
	c := newCollector()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for range k {
		wg.Go(func() {
			tr := &http.Transport{DisableKeepAlives: true}
			defer tr.CloseIdleConnections()
			<-gate
			t0 := time.Now()
			status := get(ctx, &http.Client{Transport: tr}, url)
			c.add(status, time.Since(t0))
		})
	}
	close(gate)
	wg.Wait()
	return c.done()
}
