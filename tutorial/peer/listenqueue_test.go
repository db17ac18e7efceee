package peer_test

import (
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/corofpm/corofpm/tutorial/peer"
)

// TestListenQueueCountsUnaccepted connects three clients to a listener that
// accepts nothing, then accepts one.
func TestListenQueueCountsUnaccepted(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	q, err := peer.ListenQueue(ln.Addr().String())
	require.NoError(t, err)
	assert.Equal(t, 0, q)
	for range 3 {
		c, err := net.Dial("tcp4", ln.Addr().String())
		require.NoError(t, err)
		defer c.Close()
	}
	q, err = peer.ListenQueue(ln.Addr().String())
	require.NoError(t, err)
	assert.Equal(t, 3, q, "the handshakes are done, nobody accepted")
	c, err := ln.Accept()
	require.NoError(t, err)
	c.Close()
	q, err = peer.ListenQueue(ln.Addr().String())
	require.NoError(t, err)
	assert.Equal(t, 2, q)

	_, err = peer.ListenQueue("127.0.0.1:1")
	assert.Error(t, err, "nothing listens on port 1")
	_, err = peer.ListenQueue("[::1]:80")
	assert.Error(t, err, "IPv6 is in /proc/net/tcp6")
}
