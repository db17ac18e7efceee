package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/chaptertest"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/corofpm/corofpm/tutorial/peer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The test binary plays the workers' role when the chapter re-executes it.
func TestMain(m *testing.M) {
	proc.Main(map[string]func(*proc.Child) error{"worker": workerMain})
	m.Run()
}

// TestChapter runs the walkthrough and checks what it teaches from what it
// measured: throughput follows workers / latency, and a crowd at a tiny
// backlog gets 502s.
func TestChapter(t *testing.T) {
	peer.Need(t, "nginx")
	var out bytes.Buffer
	res, err := run(narrator.New(&out), &chapter.Options{Quick: true})
	require.NoError(t, err, out.String())
	t.Log("\n" + out.String())

	require.Len(t, res.Rounds, 4)
	for i, r := range res.Rounds {
		ratio := r.Result.Throughput() / r.Ceiling
		assert.InDelta(t, 1.0, ratio, 0.25, "%d workers: %.1f req/s against a ceiling of %.1f", r.Workers, r.Result.Throughput(), r.Ceiling)
		if i > 0 {
			prev := res.Rounds[i-1]
			growth := r.Result.Throughput() / prev.Result.Throughput()
			want := float64(r.Workers) / float64(prev.Workers)
			assert.InDelta(t, want, growth, want*0.3, "from %d to %d workers throughput grew %.2fx", prev.Workers, r.Workers, growth)
		}
	}

	c := res.Crowd
	total := 0
	for _, n := range c.Status {
		total += n
	}
	assert.Equal(t, res.Settings.crowd, total, "every request of the crowd got an outcome")
	assert.GreaterOrEqual(t, c.Count(200), res.Pool, "the pool served at least one request per worker")
	assert.Positive(t, c.Count(502), "a full backlog makes nginx answer 502")
	assert.Less(t, c.Count(200), res.Settings.crowd/2, "most of the crowd was turned away")

	children, err := peer.Children()
	require.NoError(t, err)
	assert.Empty(t, children, "the chapter left processes behind")
}

// TestServe runs -serve with two workers, asks /upstream.php through nginx
// with curl and stops it with ^C.
func TestServe(t *testing.T) {
	peer.Need(t, "nginx", "curl")
	s := chaptertest.Serve(t, "-workers", "2", "-listen", filepath.Join(t.TempDir(), "fpm.sock"))
	url := regexp.MustCompile(`curl (http://\S+/upstream.php)`).FindStringSubmatch(s.Printed)
	require.NotNil(t, url, s.Printed)
	body, err := exec.Command("curl", "-sS", "--max-time", "10", url[1]).Output()
	require.NoError(t, err)
	assert.Equal(t, "ok", string(body))
	pids := regexp.MustCompile(`workers \[(\d+) (\d+)\]`).FindStringSubmatch(s.Printed)
	require.NotNil(t, pids, s.Printed)
	s.Stop(t)
	for _, p := range pids[1:] {
		var pid int
		_, err := fmt.Sscan(p, &pid)
		require.NoError(t, err)
		assert.True(t, chaptertest.Gone(pid), "worker %d left running", pid)
	}
}
