package coro

import (
	"bytes"
	"errors"
	"io"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/corofpm/corofpm/net/sock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// openFDs counts this process's open fds, for the leak checks.
func openFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(ents)
}

// runIO runs main on a scheduler whose Idler is a Poller, then checks that
// every fd was unregistered and closed: the fd-leak check of every IO test.
// hookedListener listens on a free loopback port and hooks the socket on
// p; the caller closes it.
func hookedListener(t *testing.T, c *Co, p *Poller, backlog int) *Listener {
	t.Helper()
	ln, err := sock.Listen("127.0.0.1:0", backlog)
	require.NoError(t, err)
	l, err := NewListener(c.Scheduler(), p, ln)
	require.NoError(t, err)
	return l
}

func runIO(t *testing.T, main func(c *Co, p *Poller)) *Poller {
	t.Helper()
	before := openFDs(t)
	p, err := NewPoller()
	require.NoError(t, err)
	s := New(Options{Idler: p, MaxCoroutines: 200000})
	require.NoError(t, s.Run(func(c *Co) { main(c, p) }))
	assert.Zero(t, p.Watched(), "fds still registered")
	require.NoError(t, p.Close())
	// A peer in this process (an httptest server) closes its ends when it
	// sees ours close: give it a moment.
	assert.Eventually(t, func() bool { return openFDs(t) <= before }, 2*time.Second, 5*time.Millisecond,
		"fds leaked: %d open, %d before", openFDs(t), before)
	return p
}

// pair is a connected socket pair, both ends hooked.
func pair(t *testing.T, c *Co, p *Poller) (a, b *Conn) {
	t.Helper()
	x, y, err := sock.Pair()
	require.NoError(t, err)
	a, err = NewConn(c.Scheduler(), p, x.FD, "a")
	require.NoError(t, err)
	b, err = NewConn(c.Scheduler(), p, y.FD, "b")
	require.NoError(t, err)
	return a, b
}

// A Read with nothing to read parks its coroutine; the thread runs the
// writer meanwhile, and the reader resumes from epoll_wait.
func TestConnReadParks(t *testing.T) {
	var tr trace
	runIO(t, func(c *Co, p *Poller) {
		a, b := pair(t, c, p)
		defer a.Close()
		defer b.Close()
		c.Go(func(c *Co) {
			tr.say("read")
			buf := make([]byte, 16)
			n, err := a.Read(buf)
			require.NoError(t, err)
			tr.say("got " + string(buf[:n]))
		})
		tr.say("parked")
		c.Sleep(10 * time.Millisecond)
		b.Write([]byte("hi"))
		tr.say("wrote")
		c.Sleep(10 * time.Millisecond)
	})
	assert.Equal(t, "read parked wrote got hi", tr.String())
}

// Writing more than the socket buffers hold parks the writer in the
// middle of p; the reader drains it, and every byte arrives in order.
func TestConnPartialWrites(t *testing.T) {
	const size = 8 << 20
	want := make([]byte, size)
	for i := range want {
		want[i] = byte(i * 7)
	}
	p := runIO(t, func(c *Co, p *Poller) {
		a, b := pair(t, c, p)
		defer b.Close()
		c.Go(func(c *Co) {
			n, err := a.Write(want)
			assert.NoError(t, err)
			assert.Equal(t, size, n)
			a.Close()
		})
		got, err := io.ReadAll(b)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want, got), "the bytes arrive whole and in order")
	})
	assert.Greater(t, p.Dispatched, int64(10), "the writer parked many times")
}

// ReadNow never parks: nothing, then the data, then EOF after a close.
func TestConnReadNow(t *testing.T) {
	runIO(t, func(c *Co, p *Poller) {
		a, b := pair(t, c, p)
		defer a.Close()
		buf := make([]byte, 8)
		n, err := a.ReadNow(buf)
		assert.Equal(t, 0, n)
		assert.NoError(t, err)
		b.Write([]byte("x"))
		n, err = a.ReadNow(buf)
		assert.Equal(t, 1, n)
		assert.NoError(t, err)
		b.Close()
		_, err = a.ReadNow(buf)
		assert.ErrorIs(t, err, io.EOF)
	})
}

// A deadline fails a parked Read with ErrTimeout, on time; a Read from a
// second coroutine meanwhile is refused; Close wakes a parked Read.
func TestConnDeadlineBusyClose(t *testing.T) {
	runIO(t, func(c *Co, p *Poller) {
		a, b := pair(t, c, p)
		defer b.Close()
		a.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
		start := time.Now()
		_, err := a.Read(make([]byte, 1))
		assert.ErrorIs(t, err, ErrTimeout)
		assert.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)

		a.SetReadDeadline(time.Time{})
		var parkedErr error
		c.Go(func(c *Co) { _, parkedErr = a.Read(make([]byte, 1)) })
		_, err = a.Read(make([]byte, 1))
		assert.ErrorIs(t, err, ErrBusy)
		require.NoError(t, a.Close())
		assert.ErrorIs(t, parkedErr, ErrClosed)
		_, err = a.Write([]byte("x"))
		assert.ErrorIs(t, err, ErrClosed)
		assert.Equal(t, -1, a.FD())
	})
}

// Cancel ends a parked Read with the *CanceledError.
func TestConnCancel(t *testing.T) {
	runIO(t, func(c *Co, p *Poller) {
		a, b := pair(t, c, p)
		defer a.Close()
		defer b.Close()
		var err error
		reader, _ := c.Go(func(c *Co) { _, err = a.Read(make([]byte, 1)) })
		reader.Cancel(errors.New("shutting down"))
		assert.ErrorIs(t, err, ErrCanceled)
	})
}

// An echo server and its clients on one thread: a Listener with several
// acceptors, Dial, Read, Write; the server closes and its acceptors get
// ErrClosed.
func TestListenerEcho(t *testing.T) {
	const clients, acceptors = 50, 4
	runIO(t, func(c *Co, p *Poller) {
		l := hookedListener(t, c, p, 128)
		var closedErrs int
		for range acceptors {
			c.Go(func(c *Co) {
				for {
					conn, err := l.Accept(c)
					if err != nil {
						if errors.Is(err, ErrClosed) {
							closedErrs++
						}
						return
					}
					c.Go(func(c *Co) { echo(conn) })
				}
			})
		}
		wg := &WaitGroup{}
		wg.Add(clients)
		for i := range clients {
			c.Go(func(c *Co) {
				defer wg.Done()
				conn, err := Dial(c, p, l.Addr(), time.Second)
				require.NoError(t, err)
				defer conn.Close()
				msg := bytes.Repeat([]byte{byte('a' + i%26)}, 1000+i)
				for range 3 {
					_, err := conn.Write(msg)
					require.NoError(t, err)
					got := make([]byte, len(msg))
					_, err = io.ReadFull(conn, got)
					require.NoError(t, err)
					assert.Equal(t, msg, got)
				}
			})
		}
		require.NoError(t, wg.Wait(c, 10*time.Second))
		require.NoError(t, l.Close())
		assert.Equal(t, acceptors, closedErrs)
	})
}

// echo sends back what it reads until EOF, and closes.
func echo(conn *Conn) {
	defer conn.Close()
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return
		}
		if _, err := conn.Write(buf[:n]); err != nil {
			return
		}
	}
}

// Dial reports a refused connection as ECONNREFUSED, and a name is
// resolved without blocking the loop.
func TestDialRefusedAndLookup(t *testing.T) {
	ln, err := sock.Listen("127.0.0.1:0", 1)
	require.NoError(t, err)
	addr := ln.Addr
	ln.Close() // nobody listens there now
	runIO(t, func(c *Co, p *Poller) {
		_, err := Dial(c, p, addr, time.Second)
		assert.ErrorIs(t, err, unix.ECONNREFUSED)

		addrs, err := LookupHost(c, "localhost")
		require.NoError(t, err)
		assert.NotEmpty(t, addrs)
		addrs, err = LookupHost(c, "127.0.0.1")
		require.NoError(t, err)
		assert.Equal(t, []string{"127.0.0.1"}, addrs)
	})
}

// Posts from other goroutines wake an epoll_wait that has nothing else to
// wait for.
func TestPollerWake(t *testing.T) {
	runIO(t, func(c *Co, p *Poller) {
		tok := c.Park("from a goroutine")
		go func() {
			time.Sleep(10 * time.Millisecond)
			tok.Post("hello")
		}()
		v, err := tok.Wait(5 * time.Second)
		require.NoError(t, err)
		assert.Equal(t, "hello", v)
	})
}

// 100,000 coroutines sleep 1 s each on one thread: the sleeps overlap, so
// they are all done well within two sleeps (creating 100,000 coroutines
// takes some of that: BenchmarkSleepers shows how much), and each costs
// less than 4 KiB (its goroutine's stack and the scheduler's bookkeeping).
func TestManySleepers(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("100,000 goroutines: not under -short or -race")
	}
	const n, sleep = 100000, time.Second
	var before, peak runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var elapsed time.Duration
	runIO(t, func(c *Co, p *Poller) {
		start := time.Now()
		wg := &WaitGroup{}
		wg.Add(n)
		for range n {
			_, err := c.Go(func(c *Co) { c.Sleep(sleep); wg.Done() })
			require.NoError(t, err)
		}
		runtime.ReadMemStats(&peak)
		require.NoError(t, wg.Wait(c, Forever))
		elapsed = time.Since(start)
	})
	perCo := float64((peak.HeapInuse+peak.StackInuse)-(before.HeapInuse+before.StackInuse)) / n
	t.Logf("%d sleepers of %v: done in %v, %.0f bytes each", n, sleep, elapsed, perCo)
	assert.Less(t, perCo, 4096.0)
	assert.Less(t, elapsed, 2*sleep)
}

// The listening socket is level-triggered: Accept takes one connection
// per report, and the next turn of the loop reports those still waiting.
// With no coroutine in Accept, the socket leaves the poller rather than be
// reported on every turn.
func TestListenerLevelTriggered(t *testing.T) {
	const queued = 5
	runIO(t, func(c *Co, p *Poller) {
		l := hookedListener(t, c, p, 8)
		defer l.Close()
		for range queued {
			client, err := sock.Dial(l.Addr())
			require.NoError(t, err)
			defer client.Close()
		}
		turns := p.Turns
		require.NoError(t, c.Sleep(20*time.Millisecond)) // nobody accepts meanwhile
		assert.Less(t, p.Turns-turns, int64(5), "the loop did not spin on a socket nobody accepts from")
		assert.Equal(t, 0, p.Watched(), "the socket left the poller")
		for i := range queued {
			conn, err := l.Accept(c)
			require.NoError(t, err, "connection %d", i)
			require.NoError(t, conn.Close())
		}
	})
}

// A paused Listener is out of the poller: a connection raises no event
// (another process sharing the socket would be woken instead), and Accept
// resumes it and takes the connection waiting.
func TestListenerPauseResume(t *testing.T) {
	runIO(t, func(c *Co, p *Poller) {
		l := hookedListener(t, c, p, 8)
		defer l.Close()
		l.Pause()
		assert.Equal(t, 0, p.Watched(), "paused: the socket is out of the epoll set")
		client, err := sock.Dial(l.Addr())
		require.NoError(t, err)
		defer client.Close()
		conn, err := l.Accept(c)
		require.NoError(t, err, "Accept resumes the listener and finds the waiting connection")
		assert.Equal(t, 1, p.Watched(), "the listener back; the connection joins only when it must wait")
		require.NoError(t, conn.Close())
	})
}

// WaitReadable waits for bytes without taking them: the read after it
// gets them all, and a closed peer ends the wait too.
func TestWaitReadable(t *testing.T) {
	runIO(t, func(c *Co, p *Poller) {
		a, b := pair(t, c, p)
		defer a.Close()
		c.Go(func(c *Co) {
			c.Sleep(10 * time.Millisecond)
			b.Write([]byte("hello"))
			c.Sleep(10 * time.Millisecond)
			b.Close()
		})
		require.NoError(t, a.WaitReadable())
		buf := make([]byte, 16)
		n, err := a.ReadNow(buf)
		require.NoError(t, err)
		assert.Equal(t, "hello", string(buf[:n]), "nothing was taken by the wait")
		n, err = a.ReadNow(buf)
		require.NoError(t, err)
		assert.Zero(t, n)
		require.NoError(t, a.WaitReadable(), "the peer's close ends the wait")
		_, err = a.ReadNow(buf)
		assert.Equal(t, io.EOF, err)
	})
}
