package fpm

import (
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/corofpm/corofpm/net/sock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// poolSocket opens a pool's TCP socket on a free loopback port, as the
// master does, and closes it when the test ends.
func poolSocket(tb testing.TB) *sock.Listener {
	ls, err := newListeners()
	require.NoError(tb, err)
	tb.Cleanup(ls.closeAll)
	l, _, err := ls.listen("127.0.0.1:0", 511)
	require.NoError(tb, err)
	return l
}

// A pool's TCP socket queues a connection only once it has sent something
// (TCP_DEFER_ACCEPT): a worker is never woken for a connection with no
// request in it yet.
func TestTCPSocketDefersAccept(t *testing.T) {
	l := poolSocket(t)
	secs, err := unix.GetsockoptInt(l.FD, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT)
	require.NoError(t, err)
	assert.Positive(t, secs)
	require.NoError(t, l.SetNonblock(true))

	silent, err := net.Dial("tcp", l.Addr)
	require.NoError(t, err)
	defer silent.Close()
	talking, err := net.Dial("tcp", l.Addr)
	require.NoError(t, err)
	defer talking.Close()
	_, err = talking.Write([]byte("request"))
	require.NoError(t, err)

	var c *sock.Conn
	require.Eventually(t, func() bool { c, err = l.AcceptNow(); return err == nil }, 2*time.Second, time.Millisecond)
	defer c.Close()
	assert.Equal(t, talking.LocalAddr().String(), c.Peer, "the connection with a request comes first")
	_, err = l.AcceptNow()
	assert.ErrorIs(t, err, sock.ErrWouldBlock, "the silent one is not in the accept queue")
}

// A unix socket has no such option, and needs none to listen.
func TestUnixSocketListens(t *testing.T) {
	ls, err := newListeners()
	require.NoError(t, err)
	defer ls.closeAll()
	_, _, err = ls.listen(filepath.Join(t.TempDir(), "fpm.sock"), 16)
	require.NoError(t, err)
}
