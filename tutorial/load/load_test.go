package load

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestClosedLoopThroughputFollowsLatency(t *testing.T) {
	var inFlight, peak atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(50 * time.Millisecond)
		inFlight.Add(-1)
	}))
	defer srv.Close()
	res := Closed(srv.URL, 4, 500*time.Millisecond)
	// 4 clients, 50 ms each, 0.5 s: about 40 answers; the server saw at
	// most 4 at once, because each client waits for its answer.
	assert.InDelta(t, 40, res.Count(200), 12)
	assert.LessOrEqual(t, peak.Load(), int32(4))
	assert.GreaterOrEqual(t, res.Percentile(0.5), 50*time.Millisecond)
	assert.Equal(t, res.Count(200), res.Answered())
	// 4 clients / 50 ms: 80 per second, measured over the span.
	assert.InDelta(t, 80, res.Throughput(), 15)
	assert.LessOrEqual(t, res.Span, res.Elapsed)
}

func TestBurstCountsStatuses(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%2 == 0 {
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	defer srv.Close()
	res := Burst(srv.URL, 10, 5*time.Second)
	assert.Equal(t, 5, res.Count(200))
	assert.Equal(t, 5, res.Count(502))

	srv.Close()
	res = Burst(srv.URL, 3, time.Second)
	assert.Equal(t, 3, res.Count(0), "no server: no answer")
	assert.Zero(t, res.Answered())
}
