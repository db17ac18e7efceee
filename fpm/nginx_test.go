package fpm_test

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/corofpm/corofpm/tutorial/fpmrun"
	"github.com/corofpm/corofpm/tutorial/peer"
)

// behindNginx starts an FPM listening on a unix socket, as most php-fpm
// deployments do, with a real nginx in front of it.
func behindNginx(t *testing.T, pool string) (*fpmrun.FPM, *peer.Nginx) {
	return behindNginxWith(t, pool, peer.NginxConfig{})
}

// behindNginxWith is behindNginx with nginx configured as ngx says (its
// Dir and FastCGI are filled in).
func behindNginxWith(t *testing.T, pool string, ngx peer.NginxConfig) (*fpmrun.FPM, *peer.Nginx) {
	t.Helper()
	peer.Need(t, "nginx")
	dir := t.TempDir()
	f, err := fpmrun.StartOn(dir, filepath.Join(dir, "www.sock"), pool, nil)
	require.NoError(t, err)
	t.Cleanup(func() {
		f.Kill()
		if t.Failed() {
			t.Logf("the master's log:\n%s", f.LogText())
		}
	})
	ngx.Dir, ngx.FastCGI = filepath.Join(dir, "nginx"), f.Addr
	n, err := peer.StartNginx(ngx)
	require.NoError(t, err)
	t.Cleanup(func() { n.Stop() })
	return f, n
}

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body), resp.Header
}

func TestBehindNginxOnAUnixSocket(t *testing.T) {
	f, n := behindNginx(t, "pm = static\npm.max_children = 2\npm.status_path = /status\nping.path = /ping\n")
	code, body, _ := get(t, n.URL("/hello.php"))
	assert.Equal(t, 200, code)
	assert.Equal(t, "Hello from corofpm\n", body)
	code, _, _ = get(t, n.URL("/missing.php"))
	assert.Equal(t, 404, code, "an unknown script is a 404, as php-fpm's 'Primary script unknown'")
	code, body, _ = get(t, n.URL("/ping"))
	assert.Equal(t, 200, code)
	assert.Equal(t, "pong\n", body)
	code, body, _ = get(t, n.URL("/info.php?x=1"))
	assert.Equal(t, 200, code)
	assert.Contains(t, body, "QUERY_STRING = x=1\n", "nginx's fastcgi_params reach the script")

	time.Sleep(1100 * time.Millisecond) // one maintenance second: the pool's figures are fresh
	pids, err := f.Workers()
	require.NoError(t, err)

	_, body, hdr := get(t, n.URL("/status?json&full"))
	assert.Equal(t, "application/json", hdr.Get("Content-Type"))
	var st struct {
		Pool           string `json:"pool"`
		PM             string `json:"process manager"`
		Accepted       int    `json:"accepted conn"`
		ListenQueueLen int    `json:"listen queue len"`
		Total          int    `json:"total processes"`
		Processes      []struct {
			PID      int    `json:"pid"`
			State    string `json:"state"`
			Requests int    `json:"requests"`
			URI      string `json:"request uri"`
		} `json:"processes"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &st), body)
	assert.Equal(t, "www", st.Pool)
	assert.Equal(t, "static", st.PM)
	assert.Equal(t, 5, st.Accepted, "hello, missing, ping, info, and this status request")
	assert.Equal(t, 511, st.ListenQueueLen, "the backlog of a unix socket, where php-fpm shows 0")
	assert.Equal(t, 2, st.Total)
	var seen []int
	requests := 0
	for _, p := range st.Processes {
		seen = append(seen, p.PID)
		requests += p.Requests
		if p.State == "Running" {
			assert.Equal(t, "/status?json&full", p.URI, "the one running request is this one")
		}
	}
	assert.ElementsMatch(t, pids, seen, "one slot per worker, the workers the kernel lists")
	assert.Equal(t, 5, requests, "the slots' request counts add up to accepted conn")

	_, body, _ = get(t, n.URL("/status"))
	assert.Contains(t, body, "pool:                 www\n")
	assert.Contains(t, body, "accepted conn:        6\n")

	_, body, hdr = get(t, n.URL("/status?xml"))
	assert.Equal(t, "text/xml", hdr.Get("Content-Type"))
	var x struct {
		Pool     string `xml:"pool"`
		Accepted int    `xml:"accepted-conn"`
	}
	require.NoError(t, xml.Unmarshal([]byte(body), &x), body)
	assert.Equal(t, "www", x.Pool)
	assert.Equal(t, 7, x.Accepted)

	_, body, hdr = get(t, n.URL("/status?openmetrics"))
	assert.True(t, strings.HasPrefix(hdr.Get("Content-Type"), "application/openmetrics-text"))
	assert.Contains(t, body, "\nphpfpm_accepted_connections 8\n")
	assert.Contains(t, body, "# TYPE phpfpm_idle_processes gauge\n")
	assert.True(t, strings.HasSuffix(body, "# EOF\n"))
}

func TestBehindNginxRecyclingTimeoutsAndSlowlog(t *testing.T) {
	f, n := behindNginx(t, "pm = static\npm.max_children = 1\npm.max_requests = 3\n"+
		"request_terminate_timeout = 2s\nrequest_slowlog_timeout = 1s\nslowlog = slow.log\n")
	first, err := f.Workers()
	require.NoError(t, err)
	for range 3 {
		code, _, _ := get(t, n.URL("/hello.php"))
		assert.Equal(t, 200, code)
	}
	_, err = f.WaitLog(fmt.Sprintf("child %d exited with code 0", first[0]), 5*time.Second)
	require.NoError(t, err, "pm.max_requests = 3: the worker leaves after its third request")

	code, _, _ := get(t, n.URL("/sleep.php?ms=5000"))
	assert.Equal(t, 502, code, "the worker was killed mid-request: nginx answers 502")
	_, err = f.WaitLog("execution timed out", time.Second)
	require.NoError(t, err)
	slow, err := os.ReadFile(filepath.Join(f.Dir, "slow.log"))
	require.NoError(t, err)
	assert.Contains(t, string(slow), "request = GET /sleep.php?ms=5000")
	assert.Contains(t, string(slow), "script.Sleep")
	code, _, _ = get(t, n.URL("/hello.php"))
	assert.Equal(t, 200, code, "a new worker serves")
}

// TestBehindNginxSignals sends the four signals while nginx sends requests:
// none fails across USR1 and USR2, the in-flight request survives QUIT.
func TestBehindNginxSignals(t *testing.T) {
	f, n := behindNginx(t, "pm = static\npm.max_children = 2\naccess.log = access.log\n")
	var mu sync.Mutex
	codes := map[int]int{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := http.Get(n.URL("/sleep.php?ms=10"))
				code := 0
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					code = resp.StatusCode
				}
				mu.Lock()
				codes[code]++
				mu.Unlock()
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	require.NoError(t, f.Signal(syscall.SIGUSR1))
	_, err := f.WaitLog("error log file re-opened", 5*time.Second)
	require.NoError(t, err)
	require.NoError(t, f.Signal(syscall.SIGUSR2))
	_, err = f.WaitLog("using inherited socket "+f.Addr, 10*time.Second)
	require.NoError(t, err)
	_, err = f.WaitLog("ready to handle connections", 10*time.Second)
	require.NoError(t, err)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	assert.Equal(t, map[int]int{200: codes[200]}, codes, "every request answered 200 across USR1 and USR2")
	assert.Greater(t, codes[200], 30)

	done := make(chan int, 1)
	go func() {
		resp, err := http.Get(n.URL("/sleep.php?ms=800"))
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	time.Sleep(300 * time.Millisecond)
	st, err := f.Stop(10 * time.Second)
	require.NoError(t, err)
	assert.Equal(t, "exited with code 0", st.String())
	assert.Equal(t, 200, <-done, "SIGQUIT: the request in flight is finished")
	_, err = os.Stat(f.Addr)
	assert.ErrorIs(t, err, os.ErrNotExist, "the socket file is removed at the end")

	f2, n2 := behindNginx(t, "pm = static\npm.max_children = 1\n")
	go func() {
		resp, err := http.Get(n2.URL("/sleep.php?ms=3000"))
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, f2.Signal(syscall.SIGINT))
	st, err = f2.Master.Wait()
	require.NoError(t, err)
	assert.Equal(t, "exited with code 0", st.String())
	assert.Equal(t, 502, <-done, "SIGINT: a fast stop cuts the request in flight")
}

func TestGracefulStopDoesNotWaitForKeptConnections(t *testing.T) {
	f, n := behindNginxWith(t, "pm = static\npm.max_children = 2\n", peer.NginxConfig{KeepConn: true, Keepalive: 1})
	for range 4 {
		code, _, _ := get(t, n.URL("/hello.php"))
		assert.Equal(t, 200, code)
	}
	start := time.Now()
	st, err := f.Stop(10 * time.Second)
	require.NoError(t, err)
	assert.Equal(t, "exited with code 0", st.String())
	assert.Less(t, time.Since(start), 5*time.Second, "nginx's idle kept connection does not hold the stop")
	assert.NotContains(t, f.LogText(), "SIGTERM", "no escalation was needed")
}
