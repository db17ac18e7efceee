package coro

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Output on both pipes, an exit code, a missing command.
func TestExec(t *testing.T) {
	runIO(t, func(c *Co, p *Poller) {
		out, errOut, code, err := Exec(c, p, "sh", "-c", "echo out; echo err >&2; exit 3")
		require.NoError(t, err)
		assert.Equal(t, "out\n", string(out))
		assert.Equal(t, "err\n", string(errOut))
		assert.Equal(t, 3, code)

		_, _, code, err = Exec(c, p, "no-such-command-here")
		assert.Error(t, err)
		assert.Equal(t, -1, code)
	})
}

// More output than a pipe holds, on both pipes at once: neither side
// waits for the other.
func TestExecLargeOutput(t *testing.T) {
	runIO(t, func(c *Co, p *Poller) {
		out, errOut, code, err := Exec(c, p, "sh", "-c", "head -c 300000 /dev/zero >&2; head -c 300000 /dev/zero")
		require.NoError(t, err)
		assert.Equal(t, 0, code)
		assert.Len(t, out, 300000)
		assert.Len(t, errOut, 300000)
	})
}

// Commands run at once: ten sleeps of 200 ms take about 200 ms, and the
// loop keeps ticking while they run.
func TestExecConcurrent(t *testing.T) {
	const n, d = 10, 200 * time.Millisecond
	var elapsed time.Duration
	ticks := 0
	runIO(t, func(c *Co, p *Poller) {
		start := time.Now()
		wg := &WaitGroup{}
		wg.Add(n)
		for i := range n {
			c.Go(func(c *Co) {
				defer wg.Done()
				out, _, code, err := Exec(c, p, "sh", "-c", fmt.Sprintf("sleep %g; echo %d", d.Seconds(), i))
				assert.NoError(t, err)
				assert.Equal(t, 0, code)
				assert.Equal(t, fmt.Sprint(i), strings.TrimSpace(string(out)))
			})
		}
		c.Go(func(c *Co) {
			for wg.Count() > 0 {
				ticks++
				c.Sleep(10 * time.Millisecond)
			}
		})
		require.NoError(t, wg.Wait(c, Forever))
		elapsed = time.Since(start)
	})
	assert.Less(t, elapsed, time.Duration(n)*d/2, "the commands overlapped")
	assert.Greater(t, ticks, 5, "the loop ran while they did")
}

// A canceled Exec kills its command and reaps it: no process is left.
func TestExecCancelKills(t *testing.T) {
	runIO(t, func(c *Co, p *Poller) {
		var err error
		worker, _ := c.Go(func(c *Co) {
			_, _, _, err = Exec(c, p, "sh", "-c", "echo $$; exec sleep 10")
		})
		c.Sleep(100 * time.Millisecond)
		start := time.Now()
		worker.Cancel(errors.New("request timed out"))
		assert.ErrorIs(t, err, ErrCanceled)
		assert.Less(t, time.Since(start), 5*time.Second)
	})
	var ws unix.WaitStatus
	_, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
	assert.ErrorIs(t, err, unix.ECHILD, "no child left, not even a zombie")
}
