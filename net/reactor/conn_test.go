package reactor

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/corofpm/corofpm/net/sock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// pairOn makes a socketpair: one end a Conn on the loop (set up by setup,
// on the loop's thread), the other a blocking sock.Conn for the test.
func pairOn(t *testing.T, l *Loop, setup func(c *Conn)) *sock.Conn {
	t.Helper()
	a, b, err := sock.Pair()
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	on(t, l, func() {
		c, err := l.NewConn(a.FD, "pair")
		require.NoError(t, err)
		setup(c)
	})
	require.NoError(t, b.SetReadTimeout(10*time.Second))
	return b
}

// pattern is n bytes that tell where they were in the stream, so that a
// lost, repeated or reordered chunk shows.
func pattern(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + i/251)
	}
	return p
}

func TestEcho(t *testing.T) {
	l := start(t)
	peer := pairOn(t, l, func(c *Conn) {
		c.OnData(func(c *Conn, p []byte) { c.Write(p) })
	})
	for _, msg := range []string{"hello", "world"} {
		_, err := peer.Write([]byte(msg))
		require.NoError(t, err)
		got := make([]byte, len(msg))
		_, err = io.ReadFull(peer, got)
		require.NoError(t, err)
		assert.Equal(t, msg, string(got))
	}
}

// TestBackpressure has a peer send 4 MiB to an echo Conn and read the echo
// slowly. The Conn's write buffer reaches its limit, reading from the
// peer pauses, resumes when the buffer drains, pauses again...; the buffer
// never holds more than the limit plus one read, and every byte comes
// back in order.
func TestBackpressure(t *testing.T) {
	l := start(t)
	const total, limit = 4 << 20, 64 << 10
	var pauses, resumes, peak int
	done := make(chan struct{})
	peer := pairOn(t, l, func(c *Conn) {
		c.SetWriteLimit(limit)
		c.OnData(func(c *Conn, p []byte) {
			c.Write(p)
			peak = max(peak, c.Buffered())
		})
		c.OnPause(func(c *Conn, paused bool) {
			if paused {
				pauses++
				assert.Equal(t, pauses, resumes+1, "paused twice")
			} else {
				resumes++
				assert.Zero(t, c.Buffered(), "resumed before draining")
			}
		})
		c.OnClose(func(*Conn, error) { close(done) })
	})
	sent := pattern(total)
	go peer.Write(sent)
	var got bytes.Buffer
	chunk := make([]byte, 16<<10)
	for got.Len() < total {
		n, err := peer.Read(chunk)
		require.NoError(t, err)
		got.Write(chunk[:n])
		if got.Len()%(256<<10) < n {
			time.Sleep(2 * time.Millisecond) // a slow reader
		}
	}
	assert.True(t, bytes.Equal(sent, got.Bytes()), "the echo differs from what was sent")
	on(t, l, func() {
		assert.Positive(t, pauses, "reading never paused")
		assert.Equal(t, pauses, resumes, "every pause was resumed")
		assert.LessOrEqual(t, peak, limit+readSize, "the buffer went past the limit plus one read")
		t.Logf("pauses %d, peak buffered %d bytes", pauses, peak)
	})
	unix.Shutdown(peer.FD, unix.SHUT_WR)
	<-done // the Conn saw the peer's EOF and closed
}

// TestCloseSendsWhatIsPending writes 1 MiB to a peer that does not read
// yet and closes: the peer then reads all of it, then EOF.
func TestCloseSendsWhatIsPending(t *testing.T) {
	l := start(t)
	closed := make(chan error, 1)
	sent := pattern(1 << 20)
	peer := pairOn(t, l, func(c *Conn) {
		c.OnClose(func(_ *Conn, err error) { closed <- err })
		_, err := c.Write(sent)
		require.NoError(t, err)
		assert.Positive(t, c.Buffered(), "a socketpair does not take 1 MiB at once")
		require.NoError(t, c.Close())
		_, err = c.Write([]byte("late"))
		assert.ErrorIs(t, err, ErrClosed)
	})
	assert.Empty(t, closed, "closed before the output was sent")
	got, err := io.ReadAll(peer)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(sent, got), "got %d bytes of %d", len(got), len(sent))
	assert.NoError(t, <-closed)
}

// TestPeerCloseClosesConn: the peer's shutdown (or close) is an EOF,
// OnClose gets nil and the fd is closed.
func TestPeerCloseClosesConn(t *testing.T) {
	l := start(t)
	closed := make(chan error, 1)
	fd := -1
	peer := pairOn(t, l, func(c *Conn) {
		fd = c.FD()
		c.OnClose(func(_ *Conn, err error) { closed <- err })
	})
	unix.Shutdown(peer.FD, unix.SHUT_WR)
	select {
	case err := <-closed:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("no OnClose after the peer closed")
	}
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	assert.ErrorIs(t, err, unix.EBADF, "fd %d still open", fd)
}
