package poll

import (
	"errors"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/corofpm/corofpm/net/sock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// every runs the test once per backend, as a subtest named after it, with a
// fresh Poller closed at the end.
func every(t *testing.T, test func(t *testing.T, p Poller)) {
	for _, name := range Backends {
		t.Run(name, func(t *testing.T) {
			p, err := New(name)
			require.NoError(t, err)
			t.Cleanup(func() { p.Close() })
			test(t, p)
		})
	}
}

// pair returns the two ends of a connected unix stream socket, closed at
// the end of the test.
func pair(t testing.TB) (a, b int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

// tcpPair returns a client fd and the server's accepted fd of a loopback
// TCP connection, closed at the end of the test.
func tcpPair(t *testing.T) (client, server int) {
	t.Helper()
	ln, err := sock.Listen("127.0.0.1:0", 8)
	require.NoError(t, err)
	defer ln.Close()
	client, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(client) })
	port := ln.Addr[len("127.0.0.1:"):]
	var sa unix.SockaddrInet4
	sa.Addr = [4]byte{127, 0, 0, 1}
	for _, c := range port {
		sa.Port = sa.Port*10 + int(c-'0')
	}
	require.NoError(t, unix.Connect(client, &sa))
	conn, err := ln.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return client, conn.FD
}

// wait calls Wait with room for 16 events and returns those reported.
func wait(t *testing.T, p Poller, timeout time.Duration) []Event {
	t.Helper()
	events := make([]Event, 16)
	n, err := p.Wait(events, timeout)
	require.NoError(t, err)
	return events[:n]
}

func write(t *testing.T, fd int, s string) {
	t.Helper()
	n, err := unix.Write(fd, []byte(s))
	require.NoError(t, err)
	require.Equal(t, len(s), n)
}

func TestNewUnknownBackend(t *testing.T) {
	_, err := New("kqueue")
	assert.ErrorIs(t, err, ErrUnknownBackend)
	assert.ErrorContains(t, err, `"kqueue"`)
}

func TestReadableAfterWrite(t *testing.T) {
	every(t, func(t *testing.T, p Poller) {
		a, b := pair(t)
		require.NoError(t, p.Add(a, Readable))
		assert.Empty(t, wait(t, p, 0), "nothing written yet")
		write(t, b, "ping")
		assert.Equal(t, []Event{{FD: a, Events: Readable}}, wait(t, p, time.Second))
		assert.Equal(t, "readable", Readable.String())
	})
}

func TestWritable(t *testing.T) {
	every(t, func(t *testing.T, p Poller) {
		a, _ := pair(t)
		require.NoError(t, p.Add(a, Writable))
		assert.Equal(t, []Event{{FD: a, Events: Writable}}, wait(t, p, time.Second),
			"an empty send buffer has room")
	})
}

// TestHangupOnPeerClose closes the peer of a TCP and of a unix socket: the
// fd turns readable with a read of 0 (EOF) everywhere, and poll and epoll
// also say Hangup.
func TestHangupOnPeerClose(t *testing.T) {
	every(t, func(t *testing.T, p Poller) {
		for kind, mk := range map[string]func(*testing.T) (int, int){
			"tcp":  tcpPair,
			"unix": func(t *testing.T) (int, int) { return pair(t) },
		} {
			peer, fd := mk(t)
			require.NoError(t, p.Add(fd, Readable))
			require.NoError(t, unix.Close(peer))
			got := wait(t, p, time.Second)
			require.Len(t, got, 1, kind)
			assert.Equal(t, fd, got[0].FD, kind)
			want := Readable | Hangup
			if p.Name() == "select" {
				want = Readable // select has no hangup bit
			}
			assert.Equal(t, want, got[0].Events, "%s: %v", kind, got[0].Events)
			n, err := unix.Read(fd, make([]byte, 8))
			assert.NoError(t, err, kind)
			assert.Zero(t, n, "%s: a read after the peer's close is EOF", kind)
			require.NoError(t, p.Remove(fd))
		}
	})
}

func TestRemoveStopsEvents(t *testing.T) {
	every(t, func(t *testing.T, p Poller) {
		a, b := pair(t)
		c, d := pair(t)
		require.NoError(t, p.Add(a, Readable))
		require.NoError(t, p.Add(c, Readable))
		write(t, b, "x")
		write(t, d, "y")
		require.Len(t, wait(t, p, time.Second), 2)
		require.NoError(t, p.Remove(a))
		write(t, b, "x") // a new edge for epoll-et on both
		write(t, d, "y")
		assert.Equal(t, []Event{{FD: c, Events: Readable}}, wait(t, p, time.Second))
		require.NoError(t, p.Remove(c))
		assert.Empty(t, wait(t, p, 20*time.Millisecond))
	})
}

func TestModify(t *testing.T) {
	every(t, func(t *testing.T, p Poller) {
		a, _ := pair(t)
		require.NoError(t, p.Add(a, Readable))
		assert.Empty(t, wait(t, p, 0))
		require.NoError(t, p.Modify(a, Readable|Writable))
		assert.Equal(t, []Event{{FD: a, Events: Writable}}, wait(t, p, time.Second))
	})
}

func TestTimeoutReturnsZero(t *testing.T) {
	every(t, func(t *testing.T, p Poller) {
		a, _ := pair(t)
		require.NoError(t, p.Add(a, Readable))
		start := time.Now()
		assert.Empty(t, wait(t, p, 30*time.Millisecond))
		assert.GreaterOrEqual(t, time.Since(start), 25*time.Millisecond, "Wait returned before its timeout")
	})
}

// TestManyFDs watches 300 sockets (600 fds, under FD_SETSIZE) and writes to
// every seventh: exactly those are reported. A first Wait with room for 5
// leaves the others for the next one; after that, level-triggered backends
// report all again (nothing was read), edge-triggered epoll the ones it had
// not reported yet, and then nothing.
func TestManyFDs(t *testing.T) {
	every(t, func(t *testing.T, p Poller) {
		want := map[int]bool{}
		for i := range 300 {
			a, b := pair(t)
			require.NoError(t, p.Add(a, Readable))
			if i%7 == 0 {
				write(t, b, "x")
				want[a] = true
			}
		}
		events := make([]Event, 600)
		n, err := p.Wait(events[:5], time.Second)
		require.NoError(t, err)
		require.Equal(t, 5, n)
		first := map[int]bool{}
		for _, ev := range events[:5] {
			first[ev.FD] = true
		}

		n, err = p.Wait(events, time.Second)
		require.NoError(t, err)
		got := map[int]bool{}
		for _, ev := range events[:n] {
			got[ev.FD] = ev.Events == Readable
		}
		if p.Name() == "epoll-et" {
			for fd := range first {
				got[fd] = true
			}
			assert.Equal(t, len(want)-5, n, "the rest of the edges")
		}
		assert.Equal(t, want, got)

		n, err = p.Wait(events, 20*time.Millisecond)
		require.NoError(t, err)
		if p.Name() == "epoll-et" {
			assert.Zero(t, n, "every edge was reported once")
		} else {
			assert.Equal(t, len(want), n, "unread data is reported again")
		}
	})
}

func TestErrors(t *testing.T) {
	every(t, func(t *testing.T, p Poller) {
		a, other := pair(t)
		require.NoError(t, p.Add(a, Readable))
		assert.ErrorIs(t, p.Add(a, Readable), ErrWatched)
		assert.ErrorIs(t, p.Add(-1, Readable), unix.EBADF)
		assert.ErrorIs(t, p.Modify(other, Readable), ErrNotWatched)
		assert.ErrorIs(t, p.Remove(other), ErrNotWatched)
		_, err := p.Wait(nil, 0)
		assert.Error(t, err)
		require.NoError(t, p.Remove(a))
		assert.ErrorIs(t, p.Remove(a), ErrNotWatched)
	})
}

// TestEINTRIsRetried interrupts a Wait with a signal sent to its very
// thread. The system call returns EINTR (select, poll and epoll_wait are
// never restarted, whatever SA_RESTART says); Wait must go on waiting for
// the rest of its timeout, then report data that arrives later.
func TestEINTRIsRetried(t *testing.T) {
	every(t, func(t *testing.T, p Poller) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		a, b := pair(t)
		require.NoError(t, p.Add(a, Readable))
		pid, tid := unix.Getpid(), unix.Gettid()
		go func() {
			for range 3 {
				time.Sleep(20 * time.Millisecond)
				unix.Tgkill(pid, tid, unix.SIGURG) // the runtime ignores it
			}
			time.Sleep(20 * time.Millisecond)
			unix.Write(b, []byte("x"))
		}()
		start := time.Now()
		got := wait(t, p, 5*time.Second)
		assert.Equal(t, []Event{{FD: a, Events: Readable}}, got)
		assert.GreaterOrEqual(t, time.Since(start), 70*time.Millisecond, "Wait returned early")

		unix.Read(a, make([]byte, 8))
		start = time.Now()
		go func() { time.Sleep(10 * time.Millisecond); unix.Tgkill(pid, tid, unix.SIGURG) }()
		got = wait(t, p, 60*time.Millisecond)
		assert.Empty(t, got)
		assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond, "a timeout cut short by EINTR")
	})
}

// TestSelectRefusesFDSetSize moves a socket to fd 1024: select refuses it
// with an error naming FD_SETSIZE (in C, FD_SET would write past the
// bitmap), poll and epoll take it.
func TestSelectRefusesFDSetSize(t *testing.T) {
	a, _ := pair(t)
	high, err := unix.FcntlInt(uintptr(a), unix.F_DUPFD_CLOEXEC, FDSetSize)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EMFILE) {
		t.Skipf("RLIMIT_NOFILE too low for an fd of %d: %v", FDSetSize, err)
	}
	require.NoError(t, err)
	defer unix.Close(high)
	require.GreaterOrEqual(t, high, 1024)

	every(t, func(t *testing.T, p Poller) {
		err := p.Add(high, Readable)
		if p.Name() != "select" {
			assert.NoError(t, err)
			return
		}
		require.ErrorIs(t, err, ErrFDSetSize)
		assert.Contains(t, err.Error(), "FD_SETSIZE")
		assert.Contains(t, err.Error(), "1024")
		require.NoError(t, p.Add(a, Readable), "a low fd still works")
	})
}

// TestEdgeTriggered shows the difference: level-triggered epoll reports
// unread data on every Wait; edge-triggered reports it once, and again only
// when more arrives.
func TestEdgeTriggered(t *testing.T) {
	for name, again := range map[string]bool{"epoll": true, "epoll-et": false} {
		p, err := New(name)
		require.NoError(t, err)
		defer p.Close()
		a, b := pair(t)
		require.NoError(t, p.Add(a, Readable))
		write(t, b, "abc")
		require.Len(t, wait(t, p, time.Second), 1, name)
		unix.Read(a, make([]byte, 1)) // leave "bc" unread
		if again {
			assert.Len(t, wait(t, p, 20*time.Millisecond), 1, "%s: unread data reported again", name)
		} else {
			assert.Empty(t, wait(t, p, 20*time.Millisecond), "%s: no new edge, no event", name)
			write(t, b, "d")
			assert.Len(t, wait(t, p, time.Second), 1, "%s: a new write is a new edge", name)
		}
	}
}

// openFDs counts this process's open fds.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(entries)
}

func TestCloseLeaksNoFD(t *testing.T) {
	a, _ := pair(t)
	before := openFDs(t)
	for range 3 {
		for _, name := range Backends {
			p, err := New(name)
			require.NoError(t, err)
			require.NoError(t, p.Add(a, Readable))
			wait(t, p, 0)
			require.NoError(t, p.Close())
			require.NoError(t, p.Close(), "a second Close is harmless")
		}
	}
	assert.Equal(t, before, openFDs(t))
}

// TestWaitDoesNotAllocate checks the promise a reactor relies on: in a
// steady state, a Wait that reports an event allocates nothing.
func TestWaitDoesNotAllocate(t *testing.T) {
	every(t, func(t *testing.T, p Poller) {
		a, b := pair(t)
		require.NoError(t, p.Add(a, Readable))
		events := make([]Event, 8)
		byte1 := []byte("x")
		allocs := testing.AllocsPerRun(200, func() {
			unix.Write(b, byte1)
			if n, err := p.Wait(events, time.Second); n != 1 || err != nil {
				panic("no event")
			}
			unix.Read(a, byte1)
		})
		assert.Zero(t, allocs, "allocations per Wait")
	})
}
