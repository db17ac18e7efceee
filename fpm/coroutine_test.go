package fpm_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/corofpm/corofpm/tutorial/peer"
)

// slowUpstream answers after delay, like the 2 s upstream of the classic
// benchmark, shorter.
func slowUpstream(t *testing.T, delay time.Duration) string {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		io.WriteString(w, "upstream answered\n")
	}))
	t.Cleanup(up.Close)
	return up.URL + "/"
}

// fire sends n GETs at once and returns their status codes and how long
// the slowest took.
func fire(n int, target string) (codes map[int]int, slowest time.Duration) {
	var mu sync.Mutex
	codes = map[int]int{}
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			code := 0
			if resp, err := http.Get(target); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				code = resp.StatusCode
			}
			mu.Lock()
			codes[code]++
			slowest = max(slowest, time.Since(start))
			mu.Unlock()
		}()
	}
	wg.Wait()
	return codes, slowest
}

type fullStatus struct {
	Accepted  int `json:"accepted conn"`
	Processes []struct {
		PID   int    `json:"pid"`
		State string `json:"state"`
		URI   string `json:"request uri"`
	} `json:"processes"`
}

func TestCoroutineWorkersServeManyRequestsEach(t *testing.T) {
	upstream := slowUpstream(t, time.Second)
	f, n := behindNginx(t, "pm = static\npm.max_children = 2\nworker.model = coroutine\nworker.coroutines = 16\npm.status_path = /status\n")
	target := n.URL("/upstream.php?url=" + url.QueryEscape(upstream))

	var status fullStatus
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(500 * time.Millisecond) // the 24 requests are in flight
		_, body, _ := get(t, n.URL("/status?json&full"))
		if err := json.Unmarshal([]byte(body), &status); err != nil {
			t.Errorf("status: %v: %q", err, body)
		}
	}()
	codes, slowest := fire(24, target)
	<-done
	assert.Equal(t, map[int]int{200: 24}, codes)
	assert.Less(t, slowest, 1900*time.Millisecond, "24 one-second requests on 2 workers take one second, not twelve")

	pids, err := f.Workers()
	require.NoError(t, err)
	running := map[int]int{}
	for _, p := range status.Processes {
		if p.State == "Running" {
			running[p.PID]++
		}
	}
	total := 0
	for pid, k := range running {
		assert.Contains(t, pids, pid)
		total += k
	}
	assert.Equal(t, 25, total, "every request in flight has its own slot: 24, and the status request")
}

func TestCoroutineWorkerStopsAcceptingWhenFull(t *testing.T) {
	upstream := slowUpstream(t, 700*time.Millisecond)
	_, n := behindNginx(t, "pm = static\npm.max_children = 1\nworker.model = coroutine\nworker.coroutines = 4\n")
	codes, slowest := fire(8, n.URL("/upstream.php?url="+url.QueryEscape(upstream)))
	assert.Equal(t, map[int]int{200: 8}, codes, "the excess waits in the backlog, nothing is refused")
	assert.Greater(t, slowest, 1300*time.Millisecond, "8 requests on 4 coroutines: two rounds")
}

func TestCoroutineWorkerKeepsConnections(t *testing.T) {
	_, n := behindNginxWith(t, "pm = static\npm.max_children = 1\nworker.model = coroutine\nworker.coroutines = 8\n",
		peer.NginxConfig{KeepConn: true, Keepalive: 4})
	for range 20 {
		code, body, _ := get(t, n.URL("/hello.php"))
		assert.Equal(t, 200, code)
		assert.Equal(t, "Hello from corofpm\n", body)
	}
	code, _, _ := get(t, n.URL("/sleep.php?ms=600"))
	assert.Equal(t, 200, code, "a kept connection idle longer than the accept timeout still serves")
}

func TestCoroutineTerminateTimeoutCancelsOneRequest(t *testing.T) {
	f, n := behindNginx(t, "pm = static\npm.max_children = 1\nworker.model = coroutine\nworker.coroutines = 8\nrequest_terminate_timeout = 1s\n")
	before, err := f.Workers()
	require.NoError(t, err)
	slow := make(chan int, 1)
	go func() {
		code, _, _ := get(t, n.URL("/sleep.php?ms=4000"))
		slow <- code
	}()
	time.Sleep(200 * time.Millisecond)
	codes, _ := fire(4, n.URL("/sleep.php?ms=300"))
	assert.Equal(t, map[int]int{200: 4}, codes, "the other requests of the worker go on")
	assert.Equal(t, 502, <-slow, "the request past request_terminate_timeout is cut")
	after, err := f.Workers()
	require.NoError(t, err)
	assert.Equal(t, before, after, "the worker process lives on: only the coroutine ended")
}

func TestCoroutineGracefulStopAndReload(t *testing.T) {
	f, n := behindNginx(t, "pm = static\npm.max_children = 2\nworker.model = coroutine\nworker.coroutines = 32\n")
	var wg sync.WaitGroup
	var codes map[int]int
	wg.Add(1)
	go func() {
		defer wg.Done()
		codes, _ = fire(40, n.URL("/sleep.php?ms=800"))
	}()
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, f.Signal(syscall.SIGUSR2))
	_, err := f.WaitLog("ready to handle connections", 10*time.Second)
	require.NoError(t, err)
	wg.Wait()
	assert.Equal(t, map[int]int{200: 40}, codes, "reload: the 40 requests in flight finish")

	wg.Add(1)
	go func() {
		defer wg.Done()
		codes, _ = fire(20, n.URL("/sleep.php?ms=800"))
	}()
	time.Sleep(300 * time.Millisecond)
	st, err := f.Stop(10 * time.Second)
	require.NoError(t, err)
	wg.Wait()
	assert.Equal(t, "exited with code 0", st.String())
	assert.Equal(t, map[int]int{200: 20}, codes, "SIGQUIT: every coroutine in flight finishes")
}

func TestCoroutineWorkerDrainsAfterMaxRequests(t *testing.T) {
	f, n := behindNginx(t, "pm = static\npm.max_children = 1\nworker.model = coroutine\nworker.coroutines = 8\npm.max_requests = 5\n")
	first, err := f.Workers()
	require.NoError(t, err)
	codes, _ := fire(5, n.URL("/sleep.php?ms=300"))
	assert.Equal(t, map[int]int{200: 5}, codes, "the five requests in flight when the count is reached finish")
	_, err = f.WaitLog(fmt.Sprintf("child %d exited with code 0", first[0]), 5*time.Second)
	require.NoError(t, err, "then the worker leaves")
	code, _, _ := get(t, n.URL("/hello.php"))
	assert.Equal(t, 200, code, "and a new one serves")
}

func TestCoroutineGracefulStopDoesNotWaitForKeptConnections(t *testing.T) {
	f, n := behindNginxWith(t, "pm = static\npm.max_children = 1\nworker.model = coroutine\nworker.coroutines = 8\n",
		peer.NginxConfig{KeepConn: true, Keepalive: 4})
	for range 4 {
		code, _, _ := get(t, n.URL("/hello.php"))
		assert.Equal(t, 200, code)
	}
	start := time.Now()
	st, err := f.Stop(10 * time.Second)
	require.NoError(t, err)
	assert.Equal(t, "exited with code 0", st.String())
	assert.Less(t, time.Since(start), 5*time.Second, "nginx's idle kept connections do not hold the stop")
	assert.NotContains(t, f.LogText(), "SIGTERM", "no escalation was needed")
}
