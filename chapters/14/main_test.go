package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/corofpm/corofpm/fpm"
	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/chaptertest"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/corofpm/corofpm/tutorial/peer"
)

// The test binary plays the masters and the workers when the chapter
// re-executes it.
func TestMain(m *testing.M) {
	proc.Main(fpm.Roles(scripts()))
	os.Exit(m.Run())
}

// TestChapter runs the walkthrough and checks what it teaches from what it
// measured.
func TestChapter(t *testing.T) {
	peer.Need(t, "nginx")
	var out bytes.Buffer
	csvFile := filepath.Join(t.TempDir(), "in-flight.csv")
	res, err := run(narrator.New(&out), &chapter.Options{Quick: true}, csvFile)
	require.NoError(t, err, out.String())
	t.Log("\n" + out.String())
	cfg := res.Settings
	b, c := res.Blocking, res.Coroutine

	t.Run("throughput", func(t *testing.T) {
		ratio := c.Load.Throughput() / b.Load.Throughput()
		assert.GreaterOrEqual(t, ratio, 10.0, "the coroutine pool completes at least 10x the blocking pool's requests")
		assert.GreaterOrEqual(t, c.Load.Throughput(), 0.9*c.Ceiling, "the coroutine pool reaches clients / delay")
		assert.Equal(t, float64(cfg.clients)/cfg.delay.Seconds(), c.Ceiling, "its ceiling is the clients, not its slots")
		assert.InDelta(t, 1.0, b.Load.Throughput()/b.Ceiling, 0.25, "the blocking pool sits at workers / delay")
		assert.Equal(t, map[int]int{200: b.Load.Count(200)}, b.Load.Status, "every answer inside the window is a 200")
		assert.Equal(t, map[int]int{200: c.Load.Count(200)}, c.Load.Status, "every answer inside the window is a 200")
	})

	t.Run("mid-run", func(t *testing.T) {
		assert.Equal(t, cfg.workers, b.Mid.InFlight, "a blocking worker holds one request: %v", b.Mid)
		assert.GreaterOrEqual(t, b.Mid.Queued, cfg.clients-cfg.workers-2, "the rest wait in the accept queue: %v", b.Mid)
		assert.False(t, b.Mid.Answered, "the blocking pool's status request waits in the same queue: %v", b.Mid)
		assert.GreaterOrEqual(t, c.Mid.InFlight, cfg.clients*9/10, "every client's request is in flight: %v", c.Mid)
		assert.Less(t, c.Mid.Queued, cfg.clients/10, "the coroutine workers took the connections: %v", c.Mid)
	})

	t.Run("status page", func(t *testing.T) {
		m := c.Mid
		require.True(t, m.Answered, "the coroutine pool answers its status page under load: %v", m)
		total, most := 0, 0
		for pid, k := range m.Running {
			assert.Contains(t, c.Workers, pid, "a Running slot belongs to a worker of the pool")
			total += k
			most = max(most, k)
		}
		assert.GreaterOrEqual(t, total, cfg.clients*9/10, "a slot per request in flight: %v", m.Running)
		assert.GreaterOrEqual(t, most, cfg.clients/cfg.workers/2, "many requests in one worker pid: %v", m.Running)
	})

	t.Run("isolation", func(t *testing.T) {
		for _, p := range []poolResult{b, c} {
			iso := p.Isolation
			assert.Equal(t, iso.Requests, iso.Answered, p.Pool.name)
			assert.Zero(t, iso.Own, "%s: each request keeps its own params", p.Pool.name)
		}
		assert.Zero(t, b.Isolation.Global, "a blocking worker's global is its one request's")
		assert.Greater(t, c.Isolation.Global, c.Isolation.Requests/2,
			"the coroutines of a worker overwrite each other's global")
	})

	t.Run("csv", func(t *testing.T) {
		f, err := os.Open(csvFile)
		require.NoError(t, err)
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		require.NoError(t, err)
		require.Greater(t, len(rows), 10)
		assert.Equal(t, []string{"time (s)", "blocking (4 processes × 1)", "coroutine (4 processes × 128)"}, rows[0])
		mid := rows[len(rows)/2]
		assert.Equal(t, fmt.Sprint(cfg.workers), mid[1], "the blocking pool's calls in flight, mid-run")
		assert.Equal(t, fmt.Sprint(cfg.clients), mid[2], "the coroutine pool's calls in flight, mid-run")
	})

	children, err := peer.Children()
	require.NoError(t, err)
	assert.Empty(t, children, "the chapter left processes behind")
}

// TestServe runs -serve, fetches what it says to try through nginx with
// curl, and stops it with ^C.
func TestServe(t *testing.T) {
	peer.Need(t, "nginx", "curl")
	s := chaptertest.Serve(t, "-listen", filepath.Join(t.TempDir(), "fpm.sock"))
	curl := func(url string) string {
		body, err := exec.Command("curl", "-sS", "--max-time", "10", url).Output()
		require.NoError(t, err, url)
		return string(body)
	}
	urls := map[string]string{} // by script: hello, upstream, status
	for _, m := range regexp.MustCompile(`curl '?(http://[^/\s]+/(\w+)[^\s']*)`).FindAllStringSubmatch(s.Printed, -1) {
		urls[m[2]] = m[1]
	}
	require.Contains(t, urls, "hello", s.Printed)
	require.Contains(t, urls, "upstream", s.Printed)
	require.Contains(t, urls, "status", s.Printed)
	assert.Equal(t, "Hello from corofpm\n", curl(urls["hello"]))
	assert.Equal(t, "upstream answered\n", curl(urls["upstream"]))
	status := curl(urls["status"])
	assert.Contains(t, status, "process manager:      static")
	assert.Equal(t, 1, strings.Count(status, "state:                Running"), "the status request itself:\n%s", status)
	m := regexp.MustCompile(`master pid (\d+)`).FindStringSubmatch(s.Printed)
	require.NotNil(t, m, s.Printed)
	var pid int
	_, err := fmt.Sscan(m[1], &pid)
	require.NoError(t, err)
	s.Stop(t)
	assert.True(t, chaptertest.Gone(pid), "master %d left running", pid)
}
