package main

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/tutorial/chaptertest"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/corofpm/corofpm/tutorial/peer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The test binary plays the workers' role when the chapter re-executes it.
// Under -race a process sleeps a second at exit (atexit_sleep_ms) to
// catch late reports; the workers, started from here with this
// environment, skip it, or each round would wait for them a second.
func TestMain(m *testing.M) {
	proc.Main(map[string]func(*proc.Child) error{"waiter": waiterMain})
	os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	m.Run()
}

// TestChapter runs the walkthrough in quick mode and checks what it
// teaches from what it measured. The bounds are ratios far from where the
// kernel puts the figures (plain epoll wakes all 8 workers; the others
// wake one), so a loaded machine does not move a figure across them.
func TestChapter(t *testing.T) {
	var out bytes.Buffer
	cfg := settingsFor(true, 8)
	res, err := run(narrator.New(&out), cfg)
	require.NoError(t, err, out.String())
	t.Log("\n" + out.String())

	require.Len(t, res.Rounds, len(strategies))
	rounds := map[string]round{}
	for _, r := range res.Rounds {
		rounds[r.Strategy.Name] = r
		sum := 0
		for _, a := range r.Accepts {
			sum += a
		}
		assert.Equal(t, cfg.conns, sum, "%s: the workers accepted every connection once", r.Strategy.Name)
		assert.Equal(t, r.ServedBy, r.Accepts, "%s: the workers' counts agree with who answered", r.Strategy.Name)
	}

	herd := rounds["epoll"]
	assert.Greater(t, herd.Per(herd.Wakeups), 2.0, "plain epoll wakes many workers per connection")
	for _, name := range []string{"accept", "epoll-exclusive", "reuseport"} {
		r := rounds[name]
		assert.Less(t, r.Per(r.Wakeups), 1.5, "%s wakes one worker per connection", name)
		assert.Less(t, r.Per(int64(r.Returns)), 1.5, "%s returns to one worker per connection", name)
		assert.Less(t, r.Per(r.Wakeups), herd.Per(herd.Wakeups)/2, "%s wakes far fewer than plain epoll", name)
	}
	lock := rounds["accept-lock"]
	assert.Less(t, lock.Per(int64(lock.Returns)), 1.5, "under the lock one worker returns per connection")
	assert.Zero(t, lock.Wasted, "under the lock no accept finds nothing")
	assert.GreaterOrEqual(t, lock.Per(lock.Wakeups), 1.9, "the lock's handover costs a second wake-up per connection")

	even := rounds["accept"]
	assert.LessOrEqual(t, slices.Max(even.Accepts)-slices.Min(even.Accepts), cfg.conns/cfg.workers/2,
		"blocking accept takes turns: %v", even.Accepts)

	require.Len(t, res.Busy, 2)
	shared, reuse := res.Busy[0], res.Busy[1]
	require.Equal(t, "reuseport", reuse.Strategy.Name)
	assert.Zero(t, shared.Stuck, "on a shared socket the free workers take every connection")
	assert.Positive(t, reuse.Stuck, "under SO_REUSEPORT some connections wait in the busy worker's queue")
	taken, _ := reuse.group(true)
	assert.Equal(t, reuse.Stuck, taken, "the busy worker took exactly the stuck ones once released")

	children, err := peer.Children()
	require.NoError(t, err)
	assert.Empty(t, children, "the chapter left processes behind")
}

// TestServe checks that -serve says in one line that there is nothing to
// serve, and exits with status 2.
func TestServe(t *testing.T) {
	assert.Contains(t, chaptertest.ServeRefused(t), "no server to keep")
}
