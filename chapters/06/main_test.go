package main

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/fpm/scoreboard"
	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/chaptertest"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/corofpm/corofpm/tutorial/peer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The test binary plays every child role when the chapter re-executes it.
func TestMain(m *testing.M) {
	proc.Main(roles())
	m.Run()
}

// TestChapter runs the walkthrough and checks what it teaches from what it
// measured.
func TestChapter(t *testing.T) {
	peer.Need(t, "nginx")
	var out bytes.Buffer
	res, err := run(narrator.New(&out), &chapter.Options{Quick: true}, nil)
	t.Log("\n" + out.String())
	require.NoError(t, err)
	cfg := res.Settings

	// Step 1: one file, one message, seen from two processes.
	assert.Regexp(t, `^hello from pid \d+$`, res.Share.Message)
	assert.NotEmpty(t, res.Share.Inodes[0])
	assert.Equal(t, res.Share.Inodes[0], res.Share.Inodes[1], "the same memfd in both processes' maps")
	for _, line := range res.Share.Maps {
		assert.Contains(t, line, " rw-s ", "a shared mapping")
	}

	// Step 2: atomics and the lock count every increment. The plain
	// counter may lose some or none, and never gains.
	require.Len(t, res.Counters, 3)
	for _, r := range res.Counters {
		assert.Equal(t, uint64(cfg.procs*cfg.increments), r.Expected)
		assert.LessOrEqual(t, r.Got, r.Expected, r.Method)
		if r.Method != "plain" {
			assert.Equal(t, r.Expected, r.Got, "%s: no increment lost", r.Method)
		}
	}

	// Step 3: the workers were seen in at least three stages, and every
	// request of the load was answered.
	lr := res.Live
	assert.GreaterOrEqual(t, lr.Distinct(), 3, "stages seen: %v", lr.Samples)
	for _, st := range []scoreboard.Stage{scoreboard.Accepting, scoreboard.ReadingHeaders, scoreboard.Executing} {
		assert.Positive(t, lr.Samples[st], "%s was seen", st)
	}
	assert.Equal(t, cfg.clients*len(cfg.sleeps), lr.Sent)
	assert.Equal(t, lr.Sent, lr.OK)
	assert.Equal(t, cfg.dawdlers, lr.DawdledOK)
	assert.Equal(t, 4, lr.Slots, "one slot per worker")
	assert.Positive(t, lr.Frames, "the live table was printed")

	// Step 4: the status page agrees with the load.
	st := res.Status
	assert.Contains(t, st.Text, "accepted conn:")
	assert.Equal(t, st.Expected, st.JSON.AcceptedConn, "accepted conn = every request sent")
	assert.Equal(t, "www", st.JSON.Pool)
	assert.Equal(t, "static", st.JSON.ProcessManager)
	assert.Equal(t, 4, st.JSON.TotalProcesses)
	assert.Equal(t, 4, st.JSON.IdleProcesses+st.JSON.ActiveProcesses)
	assert.GreaterOrEqual(t, st.JSON.MaxActiveProcesses, 1)
	assert.LessOrEqual(t, st.JSON.MaxActiveProcesses, 4)
	assert.Equal(t, uint64(lr.Slow), st.JSON.SlowRequests)
	assert.Positive(t, lr.Slow)
	assert.Zero(t, st.JSON.MaxChildrenReached)
	assert.Equal(t, 4, st.Blocks, "?full: one block per process")
	assert.Equal(t, st.Expected+1, st.Board, "the scoreboard itself counted the ?full request too")

	// Step 5: the cache counted every increment and every worker read
	// the others' values.
	c := res.Cache
	assert.Equal(t, int64(c.Workers*c.Increments), c.Counter)
	assert.Equal(t, int64(c.Workers*(c.Workers-1)), c.CrossReads)
	assert.Equal(t, uint64(3+c.Workers), c.Info.Misses)
	assert.Equal(t, 3+c.Workers, c.Info.Entries, "3 counters and a greeting per worker")

	children, err := peer.Children()
	require.NoError(t, err)
	assert.Empty(t, children, "the chapter left processes behind")
}

// TestServe runs -serve, reads the status page through nginx in JSON with
// curl, and stops it with ^C.
func TestServe(t *testing.T) {
	peer.Need(t, "nginx", "curl")
	port, err := peer.FreePort()
	require.NoError(t, err)
	s := chaptertest.Serve(t, "-listen", "127.0.0.1:"+strconv.Itoa(port))
	url := regexp.MustCompile(`curl '(http://\S+/status.php\?json)'`).FindStringSubmatch(s.Printed)
	require.NotNil(t, url, s.Printed)
	// The process counts are the master's, taken at its heartbeat: the
	// first requests after the start may find them still zero.
	var page statusJSON
	asked := 0
	for deadline := time.Now().Add(5 * time.Second); page.TotalProcesses == 0 && time.Now().Before(deadline); asked++ {
		body, err := exec.Command("curl", "-sS", "--max-time", "10", url[1]).Output()
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(body, &page), string(body))
		time.Sleep(50 * time.Millisecond)
	}
	assert.Equal(t, "static", page.ProcessManager)
	assert.Equal(t, 4, page.TotalProcesses)
	assert.Equal(t, uint64(asked), page.AcceptedConn, "every status request, and nothing else")
	master := regexp.MustCompile(`master (\d+),`).FindStringSubmatch(s.Printed)
	require.NotNil(t, master, s.Printed)
	pid, _ := strconv.Atoi(master[1])
	workers, err := peer.ChildrenOf(pid)
	require.NoError(t, err)
	require.Len(t, workers, 4)
	s.Stop(t)
	for _, p := range append(workers, pid) {
		assert.True(t, chaptertest.Gone(p), "process %d left running", p)
	}
}
