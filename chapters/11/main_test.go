package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/chaptertest"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestChapter runs the walkthrough and checks what it teaches from what it
// measured.
func TestChapter(t *testing.T) {
	var out bytes.Buffer
	res, err := run(narrator.New(&out), &chapter.Options{Quick: true})
	require.NoError(t, err, out.String())
	t.Log("\n" + out.String())

	// A generator produces N numbers in constant memory; a slice of N
	// numbers costs 8 bytes each.
	x, s := res.Xrange, res.Slice
	assert.Equal(t, x.N*(x.N-1)/2, x.Sum, "xrange yielded 0..N-1")
	assert.Less(t, x.Allocated, uint64(64<<10), "%d numbers through xrange allocated %d bytes", x.N, x.Allocated)
	assert.GreaterOrEqual(t, s.Allocated, uint64(8*s.N), "the slice holds every number")
	assert.Greater(t, float64(s.Allocated)/float64(s.N), 100*float64(x.Allocated)/float64(x.N),
		"bytes per number: slice against generator")

	// iter.Pull runs the generator only inside next(), up to its yield.
	assert.Equal(t, []string{
		"caller: iter.Pull returned; the generator has not run yet",
		"generator: started", "generator: yield 1", "caller: next() = 1",
		"generator: yield 2", "caller: next() = 2",
		"caller: stop()", "generator: told to stop",
	}, res.PullOrder)
	if !raceEnabled {
		assert.Less(t, res.PullCost, res.ChanCost, "a coroutine switch is cheaper than a goroutine handoff over a channel")
	}

	// The tasks take turns, in the exact order the queue dictates.
	assert.Equal(t, "foo: step 0|bar: step 0|foo: step 1|bar: step 1|foo: step 2", strings.Join(res.RoundRobin, "|"))
	assert.Equal(t, []string{
		"main: my id is 1",
		"worker: working 0", "worker: working 1",
		"spinner: spins",
		"main: spawned 2 and 3",
		"worker: exits",
		"spinner: spins",
		"main: kill 3: true",
		"main: wait for 2",
		"main: 2 has exited",
	}, res.Syscalls)

	// One thread served every client at once: their echoes interleave, and
	// the whole took far less than serving them one after another.
	e := res.Echo
	require.NoError(t, errors.Join(e.Errors...))
	cfg := res.Settings.echo
	assert.Len(t, e.Served, cfg.clients*cfg.messages)
	assert.True(t, interleaved(e.Served), "echoes %v: served in turn, not at once", e.Served)
	assert.Less(t, float64(e.Elapsed), 0.8*float64(e.Serial), "took %s; one client after another would take %s", e.Elapsed, e.Serial)
	assert.Equal(t, cfg.clients+1, e.Tasks, "the server and a task per client")
}

func TestInterleaved(t *testing.T) {
	assert.True(t, interleaved([]int{1, 2, 1}))
	assert.False(t, interleaved([]int{1, 1, 2, 2, 3}))
	assert.False(t, interleaved(nil))
}

// TestServeRefused: -serve makes no sense here; the chapter says so in
// one line and exits 2, as for any other wrong usage.
func TestServeRefused(t *testing.T) {
	assert.Contains(t, chaptertest.ServeRefused(t), "-serve")
}
