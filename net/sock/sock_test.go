package sock

import (
	"errors"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestBlockingAcceptReadWrite(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0", filepath.Join(t.TempDir(), "s.sock")} {
		t.Run(addr, func(t *testing.T) {
			l, err := Listen(addr, 16)
			if err != nil && addr == "[::1]:0" {
				t.Skipf("no IPv6 loopback here: %v", err)
			}
			require.NoError(t, err)
			defer l.Close()
			network := "tcp"
			if IsUnix(l.Addr) {
				network = "unix"
			}
			local := make(chan string, 1)
			go func() {
				c, err := net.Dial(network, l.Addr)
				if err != nil {
					local <- err.Error()
					return
				}
				local <- c.LocalAddr().String()
				c.Write([]byte("ping"))
				buf := make([]byte, 4)
				io.ReadFull(c, buf)
				c.Close()
			}()
			c, err := l.Accept()
			require.NoError(t, err)
			defer c.Close()
			// The peer is named from accept4(2)'s own answer.
			if want := <-local; network == "unix" {
				assert.Equal(t, "unix:"+l.Addr, c.Peer)
			} else {
				assert.Equal(t, want, c.Peer)
			}
			buf := make([]byte, 4)
			_, err = io.ReadFull(c, buf)
			require.NoError(t, err)
			assert.Equal(t, "ping", string(buf))
			_, err = c.Write([]byte("pong"))
			require.NoError(t, err)
			_, err = c.Read(buf)
			assert.Equal(t, io.EOF, err)
			n, err := c.ReadNow(buf)
			assert.Zero(t, n)
			assert.Equal(t, io.EOF, err)
		})
	}
}

func TestReadNowDoesNotBlock(t *testing.T) {
	l, err := Listen("127.0.0.1:0", 4)
	require.NoError(t, err)
	defer l.Close()
	client, err := net.Dial("tcp", l.Addr)
	require.NoError(t, err)
	defer client.Close()
	c, err := l.Accept()
	require.NoError(t, err)
	defer c.Close()
	buf := make([]byte, 8)
	n, err := c.ReadNow(buf)
	assert.Zero(t, n)
	assert.NoError(t, err)
	client.Write([]byte("x"))
	require.Eventually(t, func() bool { n, _ = c.ReadNow(buf); return n == 1 }, 2*time.Second, time.Millisecond)
}

func TestShutdownWakesABlockedAccept(t *testing.T) {
	l, err := Listen("127.0.0.1:0", 4)
	require.NoError(t, err)
	defer l.Close()
	done := make(chan error, 1)
	go func() { _, err := l.Accept(); done <- err }()
	time.Sleep(50 * time.Millisecond) // let it block in the kernel
	require.NoError(t, l.Shutdown())
	select {
	case err := <-done:
		assert.True(t, errors.Is(err, unix.EINVAL), "accept after shutdown: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("accept still blocked after shutdown")
	}
}

func TestListenErrorsSayWhere(t *testing.T) {
	l, err := Listen("127.0.0.1:0", 4)
	require.NoError(t, err)
	defer l.Close()
	_, err = Listen(l.Addr, 4)
	assert.ErrorContains(t, err, "bind "+l.Addr)
	assert.ErrorIs(t, err, unix.EADDRINUSE)
	_, err = Listen("not-an-address", 4)
	assert.ErrorContains(t, err, "listen not-an-address")
}
