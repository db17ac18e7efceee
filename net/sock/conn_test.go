package sock

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// A server answers and closes, as an FPM does a request without
// FCGI_KEEP_CONN. Written with WriteLast, the answer waits in the kernel
// (TCP_INFO's notsent bytes) until Close, and the FIN leaves in its
// segment: the client receives one segment fewer than after Write.
func TestWriteLastSendsTheFINWithTheAnswer(t *testing.T) {
	type result struct {
		notsent, segsIn uint32
		read            string
	}
	serve := func(t *testing.T, write func(c *Conn, p []byte) (int, error)) result {
		l, err := Listen("127.0.0.1:0", 4)
		require.NoError(t, err)
		defer l.Close()
		client, err := Dial(l.Addr)
		require.NoError(t, err)
		defer client.Close()
		server, err := l.Accept()
		require.NoError(t, err)
		_, err = write(server, []byte("hello"))
		require.NoError(t, err)
		info, err := unix.GetsockoptTCPInfo(server.FD, unix.IPPROTO_TCP, unix.TCP_INFO)
		require.NoError(t, err)
		require.NoError(t, server.Close())
		got, err := io.ReadAll(client) // to the EOF: the FIN has arrived
		require.NoError(t, err)
		after, err := unix.GetsockoptTCPInfo(client.FD, unix.IPPROTO_TCP, unix.TCP_INFO)
		require.NoError(t, err)
		return result{notsent: info.Notsent_bytes, segsIn: after.Segs_in, read: string(got)}
	}
	plain := serve(t, (*Conn).Write)
	last := serve(t, (*Conn).WriteLast)
	t.Logf("segments received by the client: %d after Write, %d after WriteLast", plain.segsIn, last.segsIn)
	assert.Equal(t, "hello", plain.read)
	assert.Equal(t, "hello", last.read)
	assert.Zero(t, plain.notsent, "Write sends at once")
	assert.EqualValues(t, 5, last.notsent, "WriteLast holds the answer for the FIN")
	assert.Equal(t, plain.segsIn-1, last.segsIn, "answer and FIN in one segment")
}

// On a unix socket MSG_MORE means nothing: WriteLast is a plain write.
func TestWriteLastOnAUnixSocket(t *testing.T) {
	a, b, err := Pair()
	require.NoError(t, err)
	defer b.Close()
	_, err = a.WriteLast([]byte("hello"))
	require.NoError(t, err)
	buf := make([]byte, 5)
	_, err = io.ReadFull(b, buf) // before a's close: nothing was held back
	require.NoError(t, err)
	assert.Equal(t, "hello", string(buf))
	require.NoError(t, a.Close())
}
