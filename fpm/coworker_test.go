package fpm

import (
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/corofpm/corofpm/fpm/script"
	"github.com/corofpm/corofpm/net/fastcgi"
	"github.com/corofpm/corofpm/net/sock"
)

// sleepRequest asks for /sleep.php?ms=N on a connection nginx would not keep.
func sleepRequest(ms string) []byte {
	var p []byte
	for _, kv := range [][2]string{{"SCRIPT_NAME", "/sleep.php"}, {"QUERY_STRING", "ms=" + ms}, {"REQUEST_METHOD", "GET"}} {
		p = fastcgi.AppendParam(p, kv[0], kv[1])
	}
	b := fastcgi.AppendBeginRequest(nil, 1, fastcgi.RoleResponder, 0)
	b = fastcgi.AppendStream(b, fastcgi.TypeParams, 1, p)
	return fastcgi.AppendStream(b, fastcgi.TypeStdin, 1, nil)
}

// A coroutine worker gives a burst's memory back once it has been idle for
// releaseIdle, once per burst; a request meanwhile postpones it, and a few
// requests at once are no burst.
func TestCoroutineWorkerGivesMemoryBackAfterABurst(t *testing.T) {
	ln := poolSocket(t)
	var freed atomic.Int32
	w := &CoroutineWorker{Listener: ln, Scripts: script.Default(script.Blocking{}, ""), Coroutines: 2 * releasePeak,
		free: func() { freed.Add(1) }}
	done := make(chan error, 1)
	go func() { done <- w.Run() }()
	defer func() {
		w.Stop()
		require.NoError(t, <-done)
	}()

	// fire sends n requests for /sleep.php?ms=ms at once and reads them all.
	fire := func(n int, ms string) {
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := sock.Dial(ln.Addr)
				if !assert.NoError(t, err) {
					return
				}
				defer c.Close()
				_, err = c.Write(sleepRequest(ms))
				assert.NoError(t, err)
				out, err := io.ReadAll(c)
				assert.NoError(t, err)
				assert.Contains(t, string(out), "slept")
			}()
		}
		wg.Wait()
	}

	fire(releasePeak, "300") // a burst: all in flight at once
	time.Sleep(releaseIdle * 8 / 10)
	fire(1, "0") // the release was due in 0.2 s: now in 1 s
	time.Sleep(releaseIdle / 2)
	assert.Zero(t, freed.Load(), "idle for less than releaseIdle since the last request")
	time.Sleep(releaseIdle)
	assert.EqualValues(t, 1, freed.Load(), "released once the worker was idle long enough")

	fire(releasePeak/4, "100") // no burst
	time.Sleep(releaseIdle * 3 / 2)
	assert.EqualValues(t, 1, freed.Load(), "a few requests at once are no burst")
}
