package main

import (
	"bytes"
	"net"
	"os"
	"regexp"
	"strconv"
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

// The test binary plays the successor when the chapter re-executes it.
func TestMain(m *testing.M) {
	proc.Main(roles)
	os.Exit(m.Run())
}

// TestChapter runs the walkthrough and checks what it teaches from what it
// measured.
func TestChapter(t *testing.T) {
	var out bytes.Buffer
	res, err := run(narrator.New(&out), &chapter.Options{Quick: true})
	require.NoError(t, err, out.String())
	t.Log("\n" + out.String())

	// The echo is right on every transport, and UDP keeps datagrams apart.
	for name, ex := range map[string]exchange{"TCP": res.TCP, "unix": res.Unix, "UDP": res.UDP} {
		assert.NotEmpty(t, ex.Sent, name)
		assert.Equal(t, ex.Sent, ex.Got, name)
	}
	assert.Equal(t, []string{"a", "bb", "ccc"}, res.UDP.Got, "three datagrams came back as three")
	assert.Equal(t, 2, res.UDPPeers, "one UDP socket answered both clients")
	require.Len(t, res.Latency, 3)
	for _, l := range res.Latency {
		assert.Positive(t, l.Echoes, l.Transport)
		assert.LessOrEqual(t, l.Median, l.P99, l.Transport)
	}

	// One thread, one client at a time: client 2 connected while client 1
	// was served, yet the server accepted it, and echoed it, only after
	// client 1 had left.
	c1, c2 := res.Two.Clients[0], res.Two.Clients[1]
	assert.True(t, c2.Connected.Before(c1.Left), "client 2 connected while client 1 was still there")
	assert.True(t, c2.Sent.Before(c1.Left), "client 2 sent while client 1 was still there")
	assert.True(t, c2.Accepted.After(c1.Left), "the server accepted client 2 %v before client 1 left", c1.Left.Sub(c2.Accepted))
	assert.True(t, c2.Echoed.After(c1.Left), "client 2's echo came %v before client 1 left", c1.Left.Sub(c2.Echoed))
	assert.True(t, c2.Connected.Before(c2.Accepted), "connect(2) returned before anyone accepted: the kernel did the handshake")

	// The passed socket accepted a connection in the other process.
	h := res.Handover
	assert.NotEqual(t, os.Getpid(), h.ChildPid)
	assert.Equal(t, h.SentSocket, h.ReceivedSocket, "one socket, two fds in two processes")
	assert.Regexp(t, `^socket:\[\d+\]$`, h.SentSocket)
	assert.Equal(t, h.ClientLocal, h.AcceptedPeer, "the child accepted our client's connection")
	assert.Equal(t, h.Sent, h.Echo)
	assert.True(t, h.Status.Exited && h.Status.Code == 0, "successor %s", h.Status)

	children, err := peer.Children()
	require.NoError(t, err)
	assert.Empty(t, children, "the chapter left processes behind")
}

// TestServe runs -serve on a free port, echoes through it with the
// standard library's net.Dial over TCP and UDP, then stops it with ^C.
func TestServe(t *testing.T) {
	port, err := peer.FreePort()
	require.NoError(t, err)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	s := chaptertest.Serve(t, "-listen", addr)
	assert.Contains(t, s.Printed, "nc 127.0.0.1 "+strconv.Itoa(port))
	pid := regexp.MustCompile(`echo server pid (\d+)`).FindStringSubmatch(s.Printed)
	require.NotNil(t, pid, s.Printed)

	for _, network := range []string{"tcp", "udp"} {
		c, err := net.DialTimeout(network, addr, 5*time.Second)
		require.NoError(t, err)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = c.Write([]byte("poke " + network))
		require.NoError(t, err)
		got := make([]byte, 64)
		k, err := c.Read(got)
		require.NoError(t, err)
		assert.Equal(t, "poke "+network, string(got[:k]))
		c.Close()
	}

	// A client that stays connected must not keep the server from
	// stopping: its thread is in read(2) on it.
	stay, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer stay.Close()
	stay.Write([]byte("x"))
	stay.Read(make([]byte, 1))

	s.Stop(t)
	n, _ := strconv.Atoi(pid[1])
	assert.True(t, chaptertest.Gone(n), "the chapter (pid %d) is still running", n)
}
