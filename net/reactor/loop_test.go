package reactor

import (
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corofpm/corofpm/net/poll"
	"github.com/corofpm/corofpm/net/sock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// start runs a new loop on its own goroutine; the test's cleanup stops it
// and waits for Run to return.
func start(t testing.TB) *Loop {
	t.Helper()
	l, err := New()
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- l.Run() }()
	t.Cleanup(func() {
		l.Stop()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("the loop did not stop within 10 s")
		}
	})
	return l
}

// on runs f on the loop's thread and waits for it.
func on(t testing.TB, l *Loop, f func()) {
	t.Helper()
	done := make(chan struct{})
	require.NoError(t, l.Wake(func() { f(); close(done) }))
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the loop did not run the function within 10 s")
	}
}

// openFDs counts this process's open fds.
func openFDs(t testing.TB) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(entries)
}

// TestWakeFromManyGoroutines sends functions from goroutines at once; each
// increments a plain int, which the race detector accepts only if every
// function ran on the loop's thread with the mutex ordering them. Each
// goroutine's functions run in the order it sent them.
func TestWakeFromManyGoroutines(t *testing.T) {
	l := start(t)
	const senders, each = 8, 1000
	count := 0
	last := make([]int, senders)
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			for i := 1; i <= each; i++ {
				require.NoError(t, l.Wake(func() {
					count++
					assert.Equal(t, last[g]+1, i, "sender %d out of order", g)
					last[g] = i
				}))
			}
		})
	}
	wg.Wait()
	on(t, l, func() {})
	on(t, l, func() { assert.Equal(t, senders*each, count) })
}

// TestWakeRunsOnTheLoopThread checks that Run locked its goroutine to one
// thread, and that Wake'd functions and timers run there.
func TestWakeRunsOnTheLoopThread(t *testing.T) {
	l := start(t)
	var tids []int
	for range 3 {
		on(t, l, func() { tids = append(tids, unix.Gettid()) })
		time.Sleep(5 * time.Millisecond)
	}
	fired := make(chan int)
	l.Wake(func() { l.After(time.Millisecond, func() { fired <- unix.Gettid() }) })
	tids = append(tids, <-fired)
	for _, tid := range tids {
		assert.Equal(t, tids[0], tid)
	}
}

// TestStopRunsWhatWasQueued: a function sent before Stop runs; one sent
// after Run returned is refused.
func TestStopRunsWhatWasQueued(t *testing.T) {
	l, err := New()
	require.NoError(t, err)
	ran := false
	require.NoError(t, l.Wake(func() { ran = true })) // before Run
	l.Stop()
	require.NoError(t, l.Run())
	assert.True(t, ran)
	assert.ErrorIs(t, l.Wake(func() {}), ErrClosed)
	assert.ErrorIs(t, l.Run(), ErrClosed, "a second Run")
}

// TestSignalIntoTheLoop sends this process SIGUSR1 twice and counts the
// calls on the loop's thread.
func TestSignalIntoTheLoop(t *testing.T) {
	l := start(t)
	got := make(chan os.Signal, 2)
	loopTid := 0
	on(t, l, func() {
		loopTid = unix.Gettid()
		l.OnSignal(func(s os.Signal) {
			assert.Equal(t, loopTid, unix.Gettid(), "signal handled off the loop thread")
			got <- s
		}, syscall.SIGUSR1)
	})
	for range 2 {
		require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGUSR1))
		select {
		case s := <-got:
			assert.Equal(t, syscall.SIGUSR1, s)
		case <-time.After(10 * time.Second):
			t.Fatal("SIGUSR1 did not reach the loop")
		}
	}
}

// TestAddFD watches a pipe's read end with a raw handler, then removes it.
func TestAddFD(t *testing.T) {
	l := start(t)
	var p [2]int
	require.NoError(t, unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC))
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	got := make(chan string, 1)
	on(t, l, func() {
		require.NoError(t, l.AddFD(p[0], poll.Readable, func(ev poll.Events) {
			buf := make([]byte, 16)
			n, _ := unix.Read(p[0], buf)
			got <- ev.String() + " " + string(buf[:n])
		}))
	})
	unix.Write(p[1], []byte("hi"))
	assert.Equal(t, "readable hi", <-got)
	on(t, l, func() { require.NoError(t, l.DelFD(p[0])) })
	on(t, l, func() { assert.ErrorIs(t, l.DelFD(p[0]), poll.ErrNotWatched) })
}

// TestNoFDLeak runs a loop with a listener, connections both ways and a
// signal handler, stops it with everything open, and counts the process's
// fds: the same as before New.
func TestNoFDLeak(t *testing.T) {
	before := openFDs(t)
	l, err := New()
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- l.Run() }()
	closed := make(chan error, 20)
	accepted := make(chan struct{}, 5)
	on(t, l, func() {
		ln, err := l.Listen("127.0.0.1:0", func(c *Conn) {
			c.OnData(func(c *Conn, p []byte) { c.Write(p) })
			c.OnClose(func(_ *Conn, err error) { closed <- err })
			accepted <- struct{}{}
		})
		require.NoError(t, err)
		l.OnSignal(func(os.Signal) {}, syscall.SIGUSR2)
		for range 5 {
			sc, err := sock.Dial(ln.Addr())
			require.NoError(t, err)
			c, err := l.NewConn(sc.FD, sc.Peer)
			require.NoError(t, err)
			c.OnClose(func(_ *Conn, err error) { closed <- err })
		}
	})
	for range 5 {
		<-accepted
	}
	assert.GreaterOrEqual(t, openFDs(t), before+13, "epoll, eventfd, listener, 10 sockets")
	l.Stop()
	require.NoError(t, <-done)
	assert.Len(t, closed, 10, "OnClose for both ends of 5 connections")
	for len(closed) > 0 {
		assert.ErrorIs(t, <-closed, ErrStopped)
	}
	assert.Equal(t, before, openFDs(t), "fds left open after Run returned")
}
