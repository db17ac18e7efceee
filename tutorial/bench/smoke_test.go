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
		assert.Positive(t, w.Mean, "the latency script's line was read")
		assert.LessOrEqual(t, w.P50, w.P99)
	})
	withNginx(t, peer.NginxConfig{FastCGI: p.Addr, Return: HelloBody}, func(n *peer.Nginx) {
		mustGet(t, n.URL("/return"), HelloBody)
	})
	// A pool of coroutine workers, as the slow-upstream benchmarks start.
	co := startPool(t, "corofpm", PoolConfig{Children: 1, Coroutines: 4})
	withNginx(t, peer.NginxConfig{FastCGI: co.Addr}, func(n *peer.Nginx) {
		mustGet(t, n.URL("/hello.php"), HelloBody)
	})
	require.NoError(t, co.Stop())
	kids, err := p.Workers()
	require.NoError(t, err)
	assert.Len(t, kids, 2)
	require.NoError(t, p.Stop())
	assert.True(t, p.Exited())
	left, err := peer.Children()
	require.NoError(t, err)
	assert.Empty(t, left, "no process of ours outlives the test")
}
