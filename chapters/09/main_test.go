package main

import (
	"bufio"
	"bytes"
	"net"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/corofpm/corofpm/net/poll"
	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/chaptertest"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Factors the measured growth must clear, from the smallest size to the
// largest (10 to about 10,000 idle connections). Measured here: poll grows
// several hundred times and epoll stays within a few percent, so a busy
// 2-core machine leaves both far from these lines.
const (
	pollGrowsAtLeast  = 3.0
	epollGrowsAtMost  = 3.0
	largestSizeWanted = 1000 // below this the run shows too little
)

// TestChapter runs the walkthrough and checks what it teaches from what it
// measured: select refuses fd 1024 with an error naming FD_SETSIZE, poll's
// turn grows with the idle connections and epoll's does not, the
// edge-triggered handler that reads once loses data and the drain loop
// does not. It also checks that the run closed every socket it opened.
func TestChapter(t *testing.T) {
	fds := chaptertest.OpenFDs(t)
	var out bytes.Buffer
	res, err := run(narrator.New(&out), &chapter.Options{Quick: true})
	require.NoError(t, err, out.String())
	t.Log("\n" + out.String())
	assert.Equal(t, fds, chaptertest.OpenFDs(t), "fds left open by the run")

	largest := res.Sizes[len(res.Sizes)-1]
	require.GreaterOrEqual(t, largest, largestSizeWanted, "RLIMIT_NOFILE leaves too little room")

	for _, c := range res.Cells["select"] {
		if c.Err == nil {
			assert.Less(t, c.Idle, poll.FDSetSize, "select took %d connections", c.Idle)
			continue
		}
		require.ErrorIs(t, c.Err, poll.ErrFDSetSize, "select with %d idle connections", c.Idle)
		assert.Contains(t, c.Err.Error(), "FD_SETSIZE")
		assert.Less(t, c.Held, poll.FDSetSize, "select held more than FD_SETSIZE fds")
		assert.Greater(t, c.Held, poll.FDSetSize-margin, "select refused long before fd 1024")
	}
	sel := res.Cells["select"]
	assert.Equal(t, 1000, sel[2].Idle)
	assert.NoError(t, sel[2].Err, "select with 1,000 idle connections")
	if largest >= poll.FDSetSize {
		assert.Error(t, sel[len(sel)-1].Err, "select took %d connections", largest)
	}
	for _, b := range []string{"poll", "epoll"} {
		require.Len(t, res.Cells[b], len(res.Sizes), "%s measured every size", b)
	}
	assert.Greater(t, res.growth("poll"), pollGrowsAtLeast, "poll's turn at %d idle connections against 10", largest)
	assert.Less(t, res.growth("epoll"), epollGrowsAtMost, "epoll's turn at %d idle connections against 10", largest)

	require.Len(t, res.Trap, 3)
	et, lt, drain := res.Trap[0], res.Trap[1], res.Trap[2]
	assert.Equal(t, trapCase{"epoll-et", false}, et.trapCase)
	assert.Equal(t, 1, et.Events, "edge-triggered: one event for the burst")
	assert.Equal(t, trapChunk, et.Echoed, "edge-triggered: one read echoed")
	assert.Equal(t, trapBurst-trapChunk, et.Stuck, "edge-triggered: the rest stuck in the kernel")
	assert.Equal(t, trapChunk, et.NudgedEchoed, "a new byte, a new edge, one more read")
	assert.Equal(t, trapBurst-2*trapChunk+1, et.NudgedStuck)

	assert.Equal(t, trapCase{"epoll", false}, lt.trapCase)
	assert.Equal(t, trapBurst/trapChunk, lt.Events, "level-triggered: an event per read until drained")
	assert.Equal(t, trapBurst, lt.Echoed)
	assert.Zero(t, lt.Stuck)

	assert.Equal(t, trapCase{"epoll-et", true}, drain.trapCase)
	assert.Equal(t, 1, drain.Events)
	assert.Equal(t, trapBurst, drain.Echoed, "the drain loop echoed everything")
	assert.Zero(t, drain.Stuck)
	assert.Equal(t, 1, drain.NudgedEchoed)
}

// TestServe runs -serve on a free port, has two clients echo through it at
// once, then stops it with ^C and checks the process is gone.
func TestServe(t *testing.T) {
	s := chaptertest.Serve(t, "-listen", "127.0.0.1:0")
	m := regexp.MustCompile(`nc (\S+) (\d+)`).FindStringSubmatch(s.Printed)
	require.NotNil(t, m, s.Printed)
	pidm := regexp.MustCompile(`echo server pid (\d+)`).FindStringSubmatch(s.Printed)
	require.NotNil(t, pidm, s.Printed)
	pid, err := strconv.Atoi(pidm[1])
	require.NoError(t, err)

	var conns []net.Conn
	for range 2 {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(m[1], m[2]), 5*time.Second)
		require.NoError(t, err)
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		conns = append(conns, c)
	}
	for i, c := range conns {
		line := "hello from client " + strconv.Itoa(i) + "\n"
		_, err := c.Write([]byte(line))
		require.NoError(t, err)
		got, err := bufio.NewReader(c).ReadString('\n')
		require.NoError(t, err)
		assert.Equal(t, line, got)
	}
	s.Stop(t)
	assert.True(t, chaptertest.Gone(pid), "the server %d is still running", pid)
}
