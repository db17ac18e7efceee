package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/corofpm/corofpm/fpm"
	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/chaptertest"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/corofpm/corofpm/tutorial/peer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	svg := filepath.Join(t.TempDir(), "workers.svg")
	res, err := run(narrator.New(&out), &chapter.Options{Quick: true}, output{svg: svg})
	require.NoError(t, err, out.String())
	t.Log("\n" + out.String())

	t.Run("config", func(t *testing.T) {
		assert.NoError(t, res.Config.GoodErr, res.Config.Good)
		assert.Contains(t, res.Config.Good, "test is successful")
		assert.Contains(t, res.Config.Broken, "test failed")
		assert.Equal(t, 4, res.Config.BrokenErrors, "every mistake is reported, not only the first")
	})

	step := res.Step
	pool := func(name string) poolFigures {
		i := step.poolIndex(name)
		require.GreaterOrEqual(t, i, 0, name)
		return step.Pools[i]
	}
	t.Run("static", func(t *testing.T) {
		s := pool("static")
		assert.Equal(t, []int{8, 8, 8}, []int{s.Before, s.Peak, s.After}, "a static pool does not move")
	})
	t.Run("dynamic", func(t *testing.T) {
		d := pool("dynamic")
		assert.Greater(t, d.Peak, d.Before, "it grew under load")
		assert.Greater(t, d.ToPeak, 2*pool("ondemand").ToPeak, "dynamic grows by seconds, ondemand at once")
		assert.Less(t, d.After, d.Peak, "it shrank after")
		b := batches(step, d)
		require.GreaterOrEqual(t, len(b), 3, "one batch of spawns a second: %+v", b)
		assert.Equal(t, []int{1, 2, 4}, []int{b[0].Started, b[1].Started, b[2].Started}, "the spawn rate doubles each second")
		for k := 1; k < len(b) && k < 3; k++ {
			gap := b[k].At - b[k-1].At
			assert.InDelta(t, 1.0, gap.Seconds(), 0.5, "batches %d and %d are a maintenance second apart", k-1, k)
		}
		rates := spawnRates(d.Log)
		assert.Contains(t, rates, 8, "the fourth doubling is logged: %q", d.Log)
		for k := 1; k < len(rates); k++ {
			assert.Equal(t, 2*rates[k-1], rates[k], "the logged rates double: %v", rates)
		}
	})
	t.Run("ondemand", func(t *testing.T) {
		o := pool("ondemand")
		assert.Equal(t, 0, o.Before, "ondemand starts with no worker")
		assert.Positive(t, o.Peak)
		assert.Equal(t, 0, o.After, "and goes back to none after process_idle_timeout")
		assert.Contains(t, o.Log, "server reached pm.max_children setting (2)")
	})

	t.Run("max_requests", func(t *testing.T) {
		r := res.Recycle
		require.Len(t, r.Pids, res.Settings.recycled, "one access log line per request")
		s := r.stretches()
		want := (res.Settings.recycled + r.MaxRequests - 1) / r.MaxRequests
		require.Len(t, s, want, "a new worker every %d requests: %+v", r.MaxRequests, s)
		seen := map[int]bool{}
		for k, st := range s {
			if k < len(s)-1 {
				assert.Equal(t, r.MaxRequests, st.To-st.From+1, "worker %d", st.Pid)
			}
			assert.False(t, seen[st.Pid], "worker %d came back", st.Pid)
			seen[st.Pid] = true
		}
	})

	t.Run("terminate timeout", func(t *testing.T) {
		r := res.Timeout
		assert.Equal(t, 502, r.Status, "nginx answers 502 for the killed worker")
		assert.Equal(t, 200, r.Next, "the replacement serves")
		require.Len(t, r.Before, 1)
		require.Len(t, r.After, 1)
		assert.NotEqual(t, r.Before, r.After, "the worker was replaced")
		assert.Regexp(t, `execution timed out \([\d.]+ sec\), terminating`, r.Log)
		assert.Regexp(t, fmt.Sprintf(`child %d exited on signal 15 \(SIGTERM\)`, r.Before[0]), r.Log)
		assert.Contains(t, r.Slowlog, "script_filename = ")
		assert.Contains(t, r.Slowlog, "fpm/script.Sleep(", "the slowlog shows the script's frame")
	})

	t.Run("emergency restart", func(t *testing.T) {
		r := res.Crash
		assert.Contains(t, r.Outside, "exited with code 2", "kill -SEGV from outside: the Go runtime exits with 2")
		assert.Equal(t, 3, r.Crashes)
		assert.True(t, r.Reloaded, "three crashes reload the FPM, on the same pid")
		assert.Len(t, r.After, 2)
		for _, pid := range r.After {
			assert.NotContains(t, r.Before, pid, "new workers after the reload")
		}
	})

	t.Run("svg", func(t *testing.T) {
		b, err := os.ReadFile(svg)
		require.NoError(t, err)
		assert.Equal(t, 3, bytes.Count(b, []byte("<polyline")), "a line per pool")
	})

	children, err := peer.Children()
	require.NoError(t, err)
	assert.Empty(t, children, "the chapter left processes behind")
}

// TestServe runs -serve, asks the status page through nginx with curl and
// stops it with ^C.
func TestServe(t *testing.T) {
	peer.Need(t, "nginx", "curl")
	s := chaptertest.Serve(t, "-listen", filepath.Join(t.TempDir(), "fpm.sock"))
	url := regexp.MustCompile(`curl '(http://\S+/status.php)\?full'`).FindStringSubmatch(s.Printed)
	require.NotNil(t, url, s.Printed)
	body, err := exec.Command("curl", "-sS", "--max-time", "10", url[1]).Output()
	require.NoError(t, err)
	assert.Contains(t, string(body), "process manager:      dynamic")
	m := regexp.MustCompile(`master pid (\d+)`).FindStringSubmatch(s.Printed)
	require.NotNil(t, m, s.Printed)
	var pid int
	_, err = fmt.Sscan(m[1], &pid)
	require.NoError(t, err)
	s.Stop(t)
	assert.True(t, chaptertest.Gone(pid), "master %d left running", pid)
}
