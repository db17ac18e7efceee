package sock

import (
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestDialEchoesOverTCPAndUnix(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", filepath.Join(t.TempDir(), "s.sock")} {
		l, err := Listen(addr, 4)
		require.NoError(t, err)
		c, err := Dial(l.Addr)
		require.NoError(t, err, "connect completes into the backlog before anyone accepts")
		s, err := l.Accept()
		require.NoError(t, err)

		local, err := c.LocalAddr()
		require.NoError(t, err)
		if IsUnix(addr) {
			assert.Equal(t, "unix:(unnamed)", local)
		} else {
			assert.Equal(t, s.Peer, local, "the client's own address is the server's peer")
		}
		assert.Equal(t, l.Addr, c.Peer)

		_, err = c.Write([]byte("ping"))
		require.NoError(t, err)
		buf := make([]byte, 4)
		_, err = io.ReadFull(s, buf)
		require.NoError(t, err)
		_, err = s.Write(buf)
		require.NoError(t, err)
		_, err = io.ReadFull(c, buf)
		require.NoError(t, err)
		assert.Equal(t, "ping", string(buf))

		s.Close()
		_, err = c.Read(buf)
		assert.Equal(t, io.EOF, err)
		c.Close()
		l.Close()
	}
}

func TestDialErrorsSayTheCallAndTheAddress(t *testing.T) {
	l, err := Listen("127.0.0.1:0", 4)
	require.NoError(t, err)
	addr := l.Addr
	l.Close() // nobody listens there now

	_, err = Dial(addr)
	assert.EqualError(t, err, "sock: connect "+addr+": connection refused")
	assert.ErrorIs(t, err, unix.ECONNREFUSED)

	missing := filepath.Join(t.TempDir(), "nobody.sock")
	_, err = Dial(missing)
	assert.EqualError(t, err, "sock: connect "+missing+": no such file or directory")
	assert.ErrorIs(t, err, unix.ENOENT)

	_, err = Dial("localhost")
	assert.ErrorContains(t, err, "sock: connect localhost: ")
}

func TestReadTimeoutEndsABlockedRead(t *testing.T) {
	l, err := Listen("127.0.0.1:0", 4)
	require.NoError(t, err)
	defer l.Close()
	c, err := Dial(l.Addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetReadTimeout(20*time.Millisecond))
	start := time.Now()
	_, err = c.Read(make([]byte, 1)) // the server never writes
	assert.ErrorIs(t, err, unix.EAGAIN)
	assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
}

func TestAcceptQueueCountsWaitingConnections(t *testing.T) {
	l, err := Listen("127.0.0.1:0", 7)
	require.NoError(t, err)
	defer l.Close()
	queued, limit, err := l.AcceptQueue()
	require.NoError(t, err)
	assert.Zero(t, queued)
	assert.Equal(t, 7, limit, "the limit is the backlog given to listen(2)")

	for range 2 {
		c, err := Dial(l.Addr)
		require.NoError(t, err)
		defer c.Close()
	}
	require.Eventually(t, func() bool { queued, _, _ = l.AcceptQueue(); return queued == 2 },
		2*time.Second, time.Millisecond, "two handshakes done, nobody accepted")
	c, err := l.Accept()
	require.NoError(t, err)
	c.Close()
	queued, _, err = l.AcceptQueue()
	require.NoError(t, err)
	assert.Equal(t, 1, queued)

}

func TestAcceptQueueOfAUnixSocket(t *testing.T) {
	u, err := Listen(filepath.Join(t.TempDir(), "s.sock"), 5)
	require.NoError(t, err)
	defer u.Close()
	queued, limit, err := u.AcceptQueue()
	require.NoError(t, err)
	assert.Zero(t, queued)
	assert.Equal(t, 5, limit)
	for range 3 {
		c, err := Dial(u.Addr)
		require.NoError(t, err)
		defer c.Close()
	}
	queued, _, err = u.AcceptQueue()
	require.NoError(t, err)
	assert.Equal(t, 3, queued, "a unix connect completes at once, into the queue")
}
