package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

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
	cfg := res.Settings

	// The order of a strict handoff is exact, every run.
	for i, line := range res.Order {
		assert.True(t, strings.HasPrefix(line, string(rune('1'+i))+" "), "line %d: %q", i+1, line)
	}
	assert.Len(t, res.Order, 8)

	// Go's defer at the helper's return; Defers LIFO at the coroutine's end.
	assert.Equal(t, []string{
		"Go's defer: the helper returns",
		"the coroutine's function returns",
		"Defer 3 (registered last, runs first)",
		"Defer 2 (from the helper)",
		"Defer 1 (registered first, runs last)",
	}, res.Defers)

	// The sleeps overlapped: all done in a few naps (creating them takes
	// time too, more under -race), far from crowd naps one after another.
	c := res.Crowd
	assert.GreaterOrEqual(t, c.Elapsed, cfg.nap)
	assert.Less(t, c.Elapsed, cfg.nap*time.Duration(cfg.crowd)/100, "%d sleeps of %s took %s", cfg.crowd, cfg.nap, c.Elapsed)
	assert.Equal(t, cfg.crowd+1, c.Stats.Peak)
	assert.Zero(t, c.Stats.Live)
	if !raceEnabled {
		assert.Less(t, c.BytesPer, uint64(16<<10), "a suspended coroutine costs a small stack, not a thread")
	}

	// Context isolates what a global mixes up.
	assert.Equal(t, []string{
		"request of alice: global says bob, Context says alice",
		"request of bob: global says bob, Context says bob",
	}, res.Context)

	// The panic was caught with its site; the deadlock reported each one.
	require.NotNil(t, res.Panic)
	assert.Contains(t, panicSite(res.Panic.Stack), "failures.go")
	require.NotNil(t, res.Deadlock)
	require.Len(t, res.Deadlock.Waiters, 2)
	for i, w := range res.Deadlock.Waiters {
		assert.Equal(t, int64(i+1), w.ID)
		assert.Contains(t, w.Reason, "chan pop")
	}

	// A blocking call held the ticker for all its length; waiting in
	// coro's Sleep, or with goroutines, did not.
	hooked, blocked, goroutines := res.Stall[0], res.Stall[1], res.Stall[2]
	assert.GreaterOrEqual(t, blocked.MaxGap, cfg.block)
	assert.Greater(t, blocked.MaxGap, 2*hooked.MaxGap)
	assert.Greater(t, blocked.MaxGap, 2*goroutines.MaxGap)
}

// TestServeRefused: -serve makes no sense here; the chapter says so in
// one line and exits 2, as for any other wrong usage.
func TestServeRefused(t *testing.T) {
	assert.Contains(t, chaptertest.ServeRefused(t), "-serve")
}
