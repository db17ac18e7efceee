package coro

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// upstream is a real HTTP server (net/http, on its own goroutines) that
// counts the connections it accepted.
type upstream struct {
	*httptest.Server
	conns atomic.Int64
}

func newUpstream(t *testing.T, h http.HandlerFunc) *upstream {
	u := &upstream{}
	u.Server = httptest.NewUnstartedServer(h)
	u.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			u.conns.Add(1)
		}
	}
	u.Start()
	t.Cleanup(u.Close)
	return u
}

// A Content-Length body, a chunked one (with a trailer), and a POST; the
// pool reuses one connection for all of them.
func TestHTTPBodiesAndKeepAlive(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/length":
			w.Header().Set("Content-Length", "5")
			io.WriteString(w, "hello")
		case "/chunked":
			w.Header().Set("Trailer", "X-Sum")
			for i := range 5 {
				fmt.Fprintf(w, "chunk %d;", i)
				w.(http.Flusher).Flush() // no Content-Length: each flush is a chunk
			}
			w.Header().Set("X-Sum", "5")
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s %s %s", r.Method, r.Header.Get("Content-Type"), b)
		case "/missing":
			http.NotFound(w, r)
		}
	})
	h := &HTTPClient{}
	runIO(t, func(c *Co, p *Poller) {
		h.Poller = p
		defer h.CloseIdle()
		b, err := h.Get(c, u.URL+"/length")
		require.NoError(t, err)
		assert.Equal(t, "hello", string(b))
		r, err := h.Do(c, "GET", u.URL+"/chunked", "", nil)
		require.NoError(t, err)
		assert.Equal(t, "chunk 0;chunk 1;chunk 2;chunk 3;chunk 4;", string(r.Body))
		b, err = h.Post(c, u.URL+"/echo", "text/plain", []byte("body"))
		require.NoError(t, err)
		assert.Equal(t, "POST text/plain body", string(b))
		b, err = h.Get(c, u.URL+"/missing")
		var se *HTTPStatusError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, 404, se.Status)
		assert.Contains(t, string(b), "not found")
		assert.Equal(t, 1, h.Idle())
	})
	assert.Equal(t, int64(1), h.Dials)
	assert.Equal(t, int64(3), h.Reuses)
	assert.Equal(t, int64(1), u.conns.Load(), "one connection served all four")
}

// Many GETs at once on one thread: each coroutine has its own connection,
// the upstream's delay overlaps, and the pool keeps MaxIdlePerHost of them.
func TestHTTPConcurrent(t *testing.T) {
	const n, delay = 100, 200 * time.Millisecond
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		io.WriteString(w, r.URL.Query().Get("i"))
	})
	h := &HTTPClient{MaxIdlePerHost: 5}
	var elapsed time.Duration
	runIO(t, func(c *Co, p *Poller) {
		h.Poller = p
		defer h.CloseIdle()
		start := time.Now()
		wg := &WaitGroup{}
		wg.Add(n)
		for i := range n {
			c.Go(func(c *Co) {
				defer wg.Done()
				b, err := h.Get(c, fmt.Sprintf("%s/?i=%d", u.URL, i))
				assert.NoError(t, err)
				assert.Equal(t, fmt.Sprint(i), string(b))
			})
		}
		require.NoError(t, wg.Wait(c, Forever))
		elapsed = time.Since(start)
		assert.Equal(t, 5, h.Idle())
		// The requests waited with no read buffer; the few answers read at
		// once, at most, borrowed one each.
		assert.Less(t, len(h.readers), 5, "read buffers made for %d requests in flight", n)
	})
	assert.Less(t, elapsed, 5*delay, "%d requests of %v overlapped", n, delay)
	assert.Equal(t, int64(n), h.Dials)
}

// A slow upstream: the request fails with ErrTimeout at the client's
// Timeout, not at the upstream's pace.
func TestHTTPTimeout(t *testing.T) {
	release := make(chan struct{})
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done(): // the client hung up
		}
	})
	defer close(release) // before u.Close, which waits for the handler
	h := &HTTPClient{Timeout: 50 * time.Millisecond}
	runIO(t, func(c *Co, p *Poller) {
		h.Poller = p
		defer h.CloseIdle()
		start := time.Now()
		_, err := h.Get(c, u.URL)
		assert.ErrorIs(t, err, ErrTimeout)
		assert.Less(t, time.Since(start), 40*h.Timeout)
		assert.Zero(t, h.Idle(), "a timed-out connection is not kept")
	})
}

// Nobody listens: ECONNREFUSED, at once.
func TestHTTPRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	runIO(t, func(c *Co, p *Poller) {
		h := &HTTPClient{Poller: p}
		_, err := h.Get(c, "http://"+addr+"/")
		assert.ErrorIs(t, err, unix.ECONNREFUSED)
	})
}

// The server closes a kept connection without a word, having read the
// next request: a GET is sent again, once, on a fresh connection; a POST
// fails, since the server may have acted on it.
func TestHTTPRetryOnClosedKeptConn(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{} // requests per client address
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.RemoteAddr]++
		again := seen[r.RemoteAddr] > 1
		mu.Unlock()
		if again { // drop it: the kept connection "timed out" server-side
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		io.WriteString(w, "ok")
	})
	h := &HTTPClient{}
	runIO(t, func(c *Co, p *Poller) {
		h.Poller = p
		defer h.CloseIdle()
		for i := range 3 {
			b, err := h.Get(c, u.URL)
			require.NoError(t, err, "GET %d", i)
			assert.Equal(t, "ok", string(b))
		}
		_, err := h.Post(c, u.URL, "text/plain", []byte("x"))
		assert.Error(t, err, "a POST is not retried")
	})
	assert.Equal(t, int64(2), h.Retries, "GETs 2 and 3 met a dropped connection")
	assert.Equal(t, int64(3), h.Dials, "GET 1, and each retry")
}

// A URL the client does not speak fails clearly.
func TestHTTPOnlyHTTP(t *testing.T) {
	runIO(t, func(c *Co, p *Poller) {
		_, err := (&HTTPClient{Poller: p}).Get(c, "https://example.com/")
		assert.ErrorContains(t, err, "only http")
		assert.True(t, strings.HasPrefix(err.Error(), "coro: GET https://example.com/"))
	})
}
