package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/corofpm/corofpm/tutorial/peer"
)

// TestSmokeCorofpmUnderWrk is the benchmarks' plumbing in one second, for
// make test: corofpm built and started from a php-fpm.conf, nginx in front
// of it, one short wrk run that must see answers and no error, and nginx's
// own /return for the ceiling row. It measures nothing: figures come from
// make bench-fpm.
func TestSmokeCorofpmUnderWrk(t *testing.T) {
	need(t, "nginx", "wrk")
	p := startPool(t, "corofpm", PoolConfig{Children: 2})
	withNginx(t, peer.NginxConfig{FastCGI: p.Addr}, func(n *peer.Nginx) {
		mustGet(t, n.URL("/hello.php"), HelloBody)
		w, err := RunWrk(n.URL("/hello.php"), 4, time.Second)
		require.NoError(t, err)
		assert.Positive(t, w.Requests)
		assert.Zero(t, w.Errors(), "wrk saw errors: %s", w.Summary())
	})
	withNginx(t, peer.NginxConfig{FastCGI: p.Addr, Return: HelloBody}, func(n *peer.Nginx) {
		mustGet(t, n.URL("/return"), HelloBody)
	})
	kids, err := p.Workers()
	require.NoError(t, err)
	assert.Len(t, kids, 2)
	require.NoError(t, p.Stop())
	assert.True(t, p.Exited())
	left, err := peer.Children()
	require.NoError(t, err)
	assert.Empty(t, left, "no process of ours outlives the test")
}
