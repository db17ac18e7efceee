package sock

import (
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestUDPKeepsDatagramBoundaries(t *testing.T) {
	srv, err := ListenUDP("127.0.0.1:0")
	require.NoError(t, err)
	defer srv.Close()
	cli, err := ListenUDP("127.0.0.1:0")
	require.NoError(t, err)
	defer cli.Close()
	to := netip.MustParseAddrPort(srv.Addr)

	for _, m := range []string{"a", "bb", "", "ccc"} {
		_, err := cli.WriteTo([]byte(m), to)
		require.NoError(t, err)
	}
	buf := make([]byte, 64)
	for _, want := range []string{"a", "bb", "", "ccc"} {
		n, from, err := srv.ReadFrom(buf)
		require.NoError(t, err)
		assert.Equal(t, want, string(buf[:n]), "one sendto, one recvfrom")
		assert.Equal(t, cli.Addr, from.String())
	}
}

func TestUDPOneSocketAnswersEveryPeer(t *testing.T) {
	srv, err := ListenUDP("127.0.0.1:0")
	require.NoError(t, err)
	defer srv.Close()
	// A peer from the standard library, to check our bytes against another
	// implementation.
	peer, err := net.Dial("udp", srv.Addr)
	require.NoError(t, err)
	defer peer.Close()
	ours, err := ListenUDP("127.0.0.1:0")
	require.NoError(t, err)
	defer ours.Close()

	peer.Write([]byte("from net"))
	ours.WriteTo([]byte("from sock"), netip.MustParseAddrPort(srv.Addr))
	buf := make([]byte, 64)
	seen := map[string]string{}
	for range 2 {
		n, from, err := srv.ReadFrom(buf)
		require.NoError(t, err)
		seen[from.String()] = string(buf[:n])
		_, err = srv.WriteTo(buf[:n], from)
		require.NoError(t, err)
	}
	assert.Equal(t, map[string]string{peer.LocalAddr().String(): "from net", ours.Addr: "from sock"}, seen)

	peer.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := peer.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "from net", string(buf[:n]))
	require.NoError(t, ours.SetReadTimeout(2*time.Second))
	n, _, err = ours.ReadFrom(buf)
	require.NoError(t, err)
	assert.Equal(t, "from sock", string(buf[:n]))
}

func TestUDPOverIPv6ReachesIPv4Peers(t *testing.T) {
	srv, err := ListenUDP("[::]:0")
	if err != nil {
		t.Skipf("no IPv6 here: %v", err)
	}
	defer srv.Close()
	cli, err := ListenUDP("127.0.0.1:0")
	require.NoError(t, err)
	defer cli.Close()
	port := netip.MustParseAddrPort(srv.Addr).Port()
	_, err = cli.WriteTo([]byte("v4"), netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port))
	require.NoError(t, err)
	buf := make([]byte, 8)
	n, from, err := srv.ReadFrom(buf)
	require.NoError(t, err)
	assert.Equal(t, cli.Addr, from.String(), "the sender is unmapped from ::ffff:127.0.0.1")
	_, err = srv.WriteTo(buf[:n], from)
	require.NoError(t, err, "an IPv6 socket answers an IPv4 peer by its mapped address")
	require.NoError(t, cli.SetReadTimeout(2*time.Second))
	n, _, err = cli.ReadFrom(buf)
	require.NoError(t, err)
	assert.Equal(t, "v4", string(buf[:n]))
}

func TestUDPReadTimeoutAndShutdown(t *testing.T) {
	p, err := ListenUDP("127.0.0.1:0")
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, p.SetReadTimeout(20*time.Millisecond))
	_, _, err = p.ReadFrom(make([]byte, 8))
	assert.ErrorIs(t, err, unix.EAGAIN)
	assert.ErrorContains(t, err, "recvfrom on udp "+p.Addr)

	require.NoError(t, p.SetReadTimeout(0))
	done := make(chan error, 1)
	go func() { _, _, err := p.ReadFrom(make([]byte, 8)); done <- err }()
	time.Sleep(50 * time.Millisecond) // let it block in the kernel
	require.NoError(t, p.Shutdown())
	select {
	case err := <-done:
		assert.Equal(t, io.EOF, err)
	case <-time.After(5 * time.Second):
		t.Fatal("recvfrom still blocked after shutdown")
	}

	_, err = ListenUDP(p.Addr)
	assert.ErrorContains(t, err, "bind udp "+p.Addr)
	assert.ErrorIs(t, err, unix.EADDRINUSE)
}
