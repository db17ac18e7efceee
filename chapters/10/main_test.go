package main

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/chaptertest"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/corofpm/corofpm/tutorial/peer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The test binary plays the clients' role when the chapter re-executes it.
func TestMain(m *testing.M) {
	proc.Main(roles)
	os.Exit(m.Run())
}

// loopRead is the reactor's read buffer: the most one turn reads from a
// connection, so the most a write buffer can pass its limit by.
const loopRead = 64 << 10

// TestChapter runs the walkthrough and checks what it teaches from what it
// measured: every connection served and every message echoed, memory per
// connection measured; timers in deadline order, the cancelled one never
// fired, Every not drifting where the chain of After does, Wake'd
// functions and signals run on the loop's thread; the slow reader paused
// and resumed with nothing lost, the buffer bounded by its limit only
// when there is one. And nothing left behind: no child, no fd.
func TestChapter(t *testing.T) {
	fds := chaptertest.OpenFDs(t)
	var out bytes.Buffer
	res, err := run(narrator.New(&out), &chapter.Options{Quick: true})
	require.NoError(t, err, out.String())
	t.Log("\n" + out.String())

	cr, cfg := res.Crowd, res.Settings
	assert.Equal(t, cfg.conns, cr.Conns, "the quick run's connections fit under RLIMIT_NOFILE")
	assert.Equal(t, cr.Conns, cr.Accepted, "accepted by the server")
	assert.Equal(t, cr.Conns, cr.Closed, "closed at the end, by the server's count")
	messages := cr.Conns * int(cfg.load/cfg.interval)
	assert.Equal(t, messages, cr.Report.Sent, "sent by the clients")
	assert.Equal(t, messages, cr.Report.Echoed, "echoed back")
	assert.Equal(t, messages, cr.Served, "echoed by the server's count")
	assert.Zero(t, cr.Report.Lost, "connections lost")
	assert.Positive(t, cr.Report.P50)
	assert.LessOrEqual(t, cr.Report.P50, cr.Report.P99)
	assert.LessOrEqual(t, cr.Report.P99, cr.Report.Max)
	assert.Positive(t, cr.HeapPerConn, "heap per connection")
	assert.Positive(t, cr.RSSPerConn, "RSS per connection")
	assert.Positive(t, cr.CPU, "the loop thread's CPU time")

	tm := res.Timers
	var names []string
	for _, f := range tm.Order {
		names = append(names, f.Name)
		assert.GreaterOrEqual(t, f.Got, f.Set, "%s fired early", f.Name)
	}
	assert.Equal(t, []string{"first", "second", "third"}, names)
	assert.True(t, tm.Stopped, "Stop on a pending timer says true")
	assert.False(t, tm.StoppedFired, "the cancelled timer fired")
	require.Len(t, tm.Every, cfg.ticks)
	require.Len(t, tm.Chained, cfg.ticks)
	last := cfg.ticks - 1
	assert.GreaterOrEqual(t, tm.Chained[last], time.Duration(last)*cfg.work,
		"the chain is late by at least the work of every tick before")
	assert.Less(t, tm.Every[last], tm.Chained[last]/2, "Every drifted like the chain")
	assert.Equal(t, tm.LoopTid, tm.WakeTid, "the Wake'd function ran off the loop thread")
	assert.NotEqual(t, tm.LoopTid, tm.FromTid, "Wake was sent from the loop thread")
	assert.Equal(t, tm.LoopTid, tm.SignalTid, "the signal was handled off the loop thread")

	require.Len(t, res.Slow, 2)
	limited, unlimited := res.Slow[0], res.Slow[1]
	for _, c := range res.Slow {
		assert.Equal(t, c.Sent, c.Echoed, "limit %d: bytes echoed", c.Limit)
		assert.True(t, c.Intact, "limit %d: the echo differs from what was sent", c.Limit)
	}
	assert.Equal(t, slowLimit, limited.Limit)
	assert.Positive(t, limited.Pauses, "reading never paused")
	assert.Equal(t, limited.Pauses, limited.Resumes, "every pause resumed")
	assert.LessOrEqual(t, limited.Peak, limited.Limit+loopRead, "the buffer passed the limit by more than one read")
	assert.Zero(t, unlimited.Limit)
	assert.Zero(t, unlimited.Pauses, "paused with no limit")
	assert.Greater(t, unlimited.Peak, limited.Limit+loopRead, "with no limit the buffer grows past what a limit allows")

	kids, err := peer.Children()
	require.NoError(t, err)
	assert.Empty(t, kids, "the chapter left processes behind")
	assert.Equal(t, fds, chaptertest.OpenFDs(t), "fds left open by the run")
}

// TestServe runs -serve on a free port, joins two members, has one speak
// and the other hear it, then stops the server with ^C.
func TestServe(t *testing.T) {
	s := chaptertest.Serve(t, "-listen", "127.0.0.1:0")
	m := regexp.MustCompile(`nc (\S+) (\d+)`).FindStringSubmatch(s.Printed)
	require.NotNil(t, m, s.Printed)
	pidm := regexp.MustCompile(`chat server pid (\d+)`).FindStringSubmatch(s.Printed)
	require.NotNil(t, pidm, s.Printed)
	pid, err := strconv.Atoi(pidm[1])
	require.NoError(t, err)

	var members []*bufio.Reader
	var conns []net.Conn
	for range 2 {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(m[1], m[2]), 5*time.Second)
		require.NoError(t, err)
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		conns = append(conns, c)
		members = append(members, bufio.NewReader(c))
	}
	line, err := members[0].ReadString('\n')
	require.NoError(t, err)
	assert.Contains(t, line, "joined", "the first member hears the second join")

	_, err = conns[0].Write([]byte("hello, room\n"))
	require.NoError(t, err)
	line, err = members[1].ReadString('\n')
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(line, "] hello, room\n"), "the second member got %q", line)

	s.Stop(t)
	assert.True(t, chaptertest.Gone(pid), "the server %d is still running", pid)
}
