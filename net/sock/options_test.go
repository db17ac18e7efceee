package sock

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestAcceptNowSaysWouldBlockThenAccepts(t *testing.T) {
	l, err := Listen("127.0.0.1:0", 4)
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, l.SetNonblock(true))

	_, err = l.AcceptNow()
	assert.ErrorIs(t, err, ErrWouldBlock)
	assert.ErrorIs(t, err, unix.EAGAIN)

	d, err := net.Dial("tcp", l.Addr)
	require.NoError(t, err)
	defer d.Close()
	var c *Conn
	for c == nil { // the handshake completes in the kernel, maybe after Dial returns
		c, err = l.AcceptNow()
		if !errors.Is(err, ErrWouldBlock) {
			require.NoError(t, err)
		}
	}
	defer c.Close()
	assert.Equal(t, d.LocalAddr().String(), c.Peer)
}

func TestReusePortOpensTwoQueuesOnOnePort(t *testing.T) {
	a, err := ListenReusePort("127.0.0.1:0", 4)
	require.NoError(t, err)
	defer a.Close()
	b, err := ListenReusePort(a.Addr, 4)
	require.NoError(t, err, "a second SO_REUSEPORT socket binds the same port")
	defer b.Close()
	assert.Equal(t, a.Addr, b.Addr)

	_, err = Listen(a.Addr, 4)
	assert.ErrorContains(t, err, "bind "+a.Addr, "a socket without SO_REUSEPORT cannot join")
}

func TestFileListenerKeepsTheAddress(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", filepath.Join(t.TempDir(), "s.sock")} {
		l, err := Listen(addr, 4)
		require.NoError(t, err)
		f, err := l.File()
		require.NoError(t, err)
		inherited, err := FileListener(f)
		require.NoError(t, err)
		assert.Equal(t, l.Addr, inherited.Addr)

		network := "tcp"
		if IsUnix(addr) {
			network = "unix"
		}
		d, err := net.Dial(network, l.Addr)
		require.NoError(t, err)
		c, err := inherited.Accept()
		require.NoError(t, err)
		if IsUnix(addr) {
			assert.Equal(t, "unix:"+l.Addr, c.Peer)
		}
		c.Close()
		d.Close()
		require.NoError(t, inherited.Close())
		if IsUnix(addr) {
			_, err := os.Stat(addr)
			assert.NoError(t, err, "an inherited listener leaves the socket file to its owner")
		}
		require.NoError(t, l.Close())
	}
}

func TestFileListenerRefusesAFileThatIsNoSocket(t *testing.T) {
	f, err := os.Open(os.DevNull)
	require.NoError(t, err)
	defer f.Close()
	_, err = FileListener(f)
	assert.ErrorContains(t, err, "getsockname of inherited")
}

func TestOwnedInheritedUnixSocketIsRemovedOnClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	l, err := Listen(path, 4)
	require.NoError(t, err)
	f, err := l.File()
	require.NoError(t, err)
	inherited, err := FileListener(f)
	require.NoError(t, err)
	inherited.Own()
	require.NoError(t, inherited.Close())
	_, err = os.Stat(path)
	assert.ErrorIs(t, err, os.ErrNotExist)
	unix.Close(l.FD)
}
