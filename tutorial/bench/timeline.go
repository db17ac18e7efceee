package bench

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"
)

// Outcome is one request of a Timeline: when it was sent, when its answer
// ended, and its status (0: no HTTP answer at all).
type Outcome struct {
	Start, End time.Time
	Status     int
}

// Timeline is a load run that keeps every request's times, so that what
// failed can be placed against an event in the middle of the run (a
// reload, a stop, a killed worker). wrk only counts; here we need to know
// which requests were in flight when the signal went.
type Timeline []Outcome

// Hammer sends GET url from clients goroutines, each on a keep-alive
// connection of its own to nginx and each sending its next request when the
// last one is answered, until d has passed. Each request may take up to
// 10 s; the run is bounded by d + 10 s.
func Hammer(url string, clients int, d time.Duration) Timeline {
	var (
		mu  sync.Mutex
		out Timeline
		wg  sync.WaitGroup
	)
	stop := time.Now().Add(d)
	for range clients {
		wg.Go(func() {
			tr := &http.Transport{MaxIdleConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			for time.Now().Before(stop) {
				o := Outcome{Start: time.Now()}
				o.Status = get(client, url)
				o.End = time.Now()
				mu.Lock()
				out = append(out, o)
				mu.Unlock()
				if o.Status == 0 {
					time.Sleep(5 * time.Millisecond) // nothing listening: don't spin
				}
			}
		})
	}
	wg.Wait()
	return out
}

// get does one GET and returns its status, 0 when there was no answer.
func get(client *http.Client, url string) int {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
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

// Failed counts the requests that did not get a 200.
func (tl Timeline) Failed() int {
	n := 0
	for _, o := range tl {
		if o.Status != 200 {
			n++
		}
	}
	return n
}

// Split divides the requests at t: those sent before it and those sent
// after.
func (tl Timeline) Split(t time.Time) (before, after Timeline) {
	for _, o := range tl {
		if o.Start.Before(t) {
			before = append(before, o)
		} else {
			after = append(after, o)
		}
	}
	return before, after
}
