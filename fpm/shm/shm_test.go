package shm_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/fpm/shm"
	"github.com/corofpm/corofpm/tutorial/peer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The test segment's layout, shared by the parent and its children.
const (
	offLock    = 0  // a Spinlock
	offStart   = 4  // uint32: 1 when the contenders may start
	offReady   = 24 // uint32: 1 once the child waits for the start
	offLocked  = 8  // uint64: incremented with plain loads and stores, under the lock
	offAtomic  = 16 // uint64: incremented with atomic adds, no lock
	segmentLen = 4096
)

var roles = map[string]func(*proc.Child) error{
	// count increments both counters n times, once the parent says start.
	"count": func(c *proc.Child) error {
		n, err := strconv.Atoi(c.Args[0])
		if err != nil {
			return err
		}
		seg, err := shm.Open(c.Files[0])
		if err != nil {
			return err
		}
		defer seg.Close()
		seg.Uint32(offReady).Store(1)
		for seg.Uint32(offStart).Load() == 0 {
			time.Sleep(50 * time.Microsecond)
		}
		increment(seg, n)
		return nil
	},
	// hold takes the lock and never lets go.
	"hold": func(c *proc.Child) error {
		seg, err := shm.Open(c.Files[0])
		if err != nil {
			return err
		}
		seg.Spinlock(offLock).Lock()
		select {}
	},
}

func TestMain(m *testing.M) {
	proc.Main(roles)
	os.Exit(m.Run())
}

// increment adds n to both counters: the plain one under the lock, the
// other with an atomic add.
func increment(seg *shm.Segment, n int) {
	lock, locked, counter := seg.Spinlock(offLock), shm.At[uint64](seg, offLocked), seg.Uint64(offAtomic)
	for range n {
		lock.Lock()
		*locked++ // a load and a store: two processes in here at once would lose counts
		lock.Unlock()
		counter.Add(1)
	}
}

func noChildrenLeft(t *testing.T) {
	t.Cleanup(func() {
		kids, err := peer.Children()
		require.NoError(t, err)
		assert.Empty(t, kids, "children left running")
	})
}

func openFds(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(ents)
}

// TestCountersSharedWithAChild has a child process and two goroutines of
// the parent increment the same counters at once. Every increment counts:
// the lock lets one contender at a time do its load and store, and the
// atomic add is one indivisible instruction on the shared physical page.
func TestCountersSharedWithAChild(t *testing.T) {
	noChildrenLeft(t)
	const n = 200000
	fds := openFds(t)
	seg, err := shm.Create("counters", segmentLen)
	require.NoError(t, err)
	p, err := proc.Start(proc.Spec{Role: "count", Args: []string{strconv.Itoa(n)}, Files: []*os.File{seg.File()}, Stderr: os.Stderr})
	require.NoError(t, err)

	// Start together, or the goroutines would be done before the child
	// has even been executed, and nothing would contend.
	for seg.Uint32(offReady).Load() == 0 {
		time.Sleep(50 * time.Microsecond)
	}
	seg.Uint32(offStart).Store(1)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { increment(seg, n) })
	}
	wg.Wait()
	st, err := p.Wait()
	require.NoError(t, err)
	require.Equal(t, 0, st.Code, st.String())

	assert.Equal(t, 3*n, int(*shm.At[uint64](seg, offLocked)), "increments under the lock")
	assert.Equal(t, 3*n, int(seg.Uint64(offAtomic).Load()), "atomic increments")
	assert.Zero(t, seg.Spinlock(offLock).Holder(), "the lock is free at the end")
	require.NoError(t, seg.Close())
	assert.Equal(t, fds, openFds(t), "fds open before and after: the memfd and the child's pipes are closed")
}

// TestLockOfADeadHolder kills a child that holds the lock. The lock stays
// taken, by a pid the parent knows it reaped, and the parent can break it.
func TestLockOfADeadHolder(t *testing.T) {
	noChildrenLeft(t)
	seg, err := shm.Create("dead-holder", segmentLen)
	require.NoError(t, err)
	defer seg.Close()
	p, err := proc.Start(proc.Spec{Role: "hold", Files: []*os.File{seg.File()}, Stderr: os.Stderr})
	require.NoError(t, err)
	lock := seg.Spinlock(offLock)
	deadline := time.Now().Add(10 * time.Second)
	for lock.Holder() != p.Pid && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	require.Equal(t, p.Pid, lock.Holder(), "the child took the lock")

	require.NoError(t, p.Signal(syscall.SIGKILL))
	st, err := p.Wait()
	require.NoError(t, err)
	require.Equal(t, syscall.SIGKILL, st.Signal)

	assert.False(t, lock.TryLock(), "the dead child's lock is still taken")
	assert.Equal(t, p.Pid, lock.Holder(), "and says who took it")
	assert.False(t, lock.Break(os.Getpid()), "Break names the holder: it frees no other's lock")
	assert.True(t, lock.Break(p.Pid))
	assert.True(t, lock.TryLock(), "broken, the lock can be taken again")
	assert.Equal(t, os.Getpid(), lock.Holder())
	lock.Unlock()
	assert.Panics(t, lock.Unlock, "unlocking a free lock is a bug")
}

func TestCreateAndOpen(t *testing.T) {
	fds := openFds(t)
	seg, err := shm.Create("open", 3*4096+1)
	require.NoError(t, err)
	assert.Len(t, seg.Bytes, 3*4096+1)
	target, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", seg.File().Fd()))
	require.NoError(t, err)
	assert.Equal(t, "/memfd:open (deleted)", target)
	flags, err := unix.FcntlInt(seg.File().Fd(), unix.F_GETFD, 0)
	require.NoError(t, err)
	assert.NotZero(t, flags&unix.FD_CLOEXEC, "close-on-exec: only the children it is passed to get it")
	assert.ErrorIs(t, unix.Ftruncate(int(seg.File().Fd()), 4096), unix.EPERM, "the size is sealed")

	// A second mapping of the same memfd, as a child makes: same bytes.
	fd, err := unix.Dup(int(seg.File().Fd()))
	require.NoError(t, err)
	other, err := shm.Open(os.NewFile(uintptr(fd), "dup"))
	require.NoError(t, err)
	assert.Len(t, other.Bytes, len(seg.Bytes), "the size comes from fstat")
	seg.Bytes[4096] = 'x'
	assert.Equal(t, byte('x'), other.Bytes[4096])
	seg.Uint64(8).Add(41)
	other.Uint64(8).Add(1)
	assert.Equal(t, uint64(42), seg.Uint64(8).Load())

	require.NoError(t, other.Close())
	require.NoError(t, seg.Close())
	require.NoError(t, seg.Close(), "a second Close does nothing")
	assert.Nil(t, seg.Bytes)
	assert.Equal(t, fds, openFds(t))
}

func TestErrors(t *testing.T) {
	_, err := shm.Create("empty", 0)
	assert.EqualError(t, err, `shm: create "empty": size 0, want > 0`)

	f, err := os.Create(filepath.Join(t.TempDir(), "empty"))
	require.NoError(t, err)
	_, err = shm.Open(f)
	assert.ErrorContains(t, err, "size 0, want > 0")
	f.Close()

	seg, err := shm.Create("bounds", 64)
	require.NoError(t, err)
	defer seg.Close()
	assert.PanicsWithValue(t, "shm: 64-bit word at offset 4 is not 8-byte aligned", func() { seg.Uint64(4) })
	assert.PanicsWithValue(t, "shm: atomic.Uint32 at offset 2 is not 4-byte aligned", func() { seg.Uint32(2) })
	assert.PanicsWithValue(t, "shm: atomic.Uint32 at offset 64 (4 bytes) is outside the 64-byte segment", func() { seg.Uint32(64) })
}

// BenchmarkSpinlock is an uncontended Lock and Unlock: two atomic
// read-modify-writes on the shared word.
func BenchmarkSpinlock(b *testing.B) {
	seg, err := shm.Create("bench", segmentLen)
	require.NoError(b, err)
	defer seg.Close()
	lock := seg.Spinlock(offLock)
	for b.Loop() {
		lock.Lock()
		lock.Unlock()
	}
}
