package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseWrkReadsCountsAndErrors(t *testing.T) {
	out := `Running 5s test @ http://127.0.0.1:8080/hello.php
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.10ms    1.22ms  30.41ms   80.00%
    Req/Sec    10.24k   512.00    11.00k    70.00%
  101808 requests in 5.00s, 15.34MB read
  Socket errors: connect 1, read 12, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:  20352.18
Transfer/sec:      3.07MB
`
	w, err := ParseWrk([]byte(out))
	require.NoError(t, err)
	assert.Equal(t, Wrk{Requests: 101808, RPS: 20352.18, Non2xx: 7, Connect: 1, Read: 12, Timeout: 3}, w)
	assert.Equal(t, 23, w.Errors())
	assert.Equal(t, "23 (7 non-2xx, 1 connect, 12 read, 3 timeout)", w.Summary())
	assert.Equal(t, 46, w.Add(w).Errors())
}

func TestParseWrkWithoutErrorLines(t *testing.T) {
	w, err := ParseWrk([]byte("  5 requests in 1.00s, 1KB read\nRequests/sec:      5.00\n"))
	require.NoError(t, err)
	assert.Equal(t, Wrk{Requests: 5, RPS: 5}, w)
	assert.Equal(t, "0", w.Summary())
}

func TestParseWrkRejectsWhatIsNotAReport(t *testing.T) {
	_, err := ParseWrk([]byte("unable to connect to 127.0.0.1:1 Connection refused\n"))
	assert.ErrorContains(t, err, "no \"requests in\"")
	_, err = ParseWrk([]byte("  x requests in 1.00s\nRequests/sec: 5\n"))
	assert.ErrorContains(t, err, `line "x requests in 1.00s"`)
}

func TestParseWrkReadsTheLatencyScriptsLine(t *testing.T) {
	out := "  2400 requests in 10.02s, 300KB read\nRequests/sec:    239.52\n" +
		"bench: duration_us 10020000 requests 2400 mean_us 2004000.5 p50_us 2001000 p99_us 2090000\n"
	w, err := ParseWrk([]byte(out))
	require.NoError(t, err)
	assert.Equal(t, 10020*time.Millisecond, w.Duration)
	assert.Equal(t, 2004000500*time.Nanosecond, w.Mean)
	assert.Equal(t, 2001*time.Millisecond, w.P50)
	assert.Equal(t, 2090*time.Millisecond, w.P99)
	// 800 connections, each answered in 2.0040005 s on average.
	assert.InDelta(t, 399.2, w.LittleRPS(800), 0.1)
	assert.Zero(t, Wrk{}.LittleRPS(800), "no mean, no figure")
}
