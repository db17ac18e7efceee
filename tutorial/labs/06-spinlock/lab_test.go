package lab06

// This is the grader of lab 06. Run it with
//
//	make lab N=06        (or: go test ./tutorial/labs/06-spinlock -run Lab06 -v)
//
// Edit lab.go, not this file: the original is used for grading. The lock's
// word is in a memfd segment (fpm/shm) that a child process maps too, so
// the contenders are real processes, as an FPM's workers are.

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/fpm/shm"
	"github.com/corofpm/corofpm/tutorial/peer"
)

// The segment's layout, shared by the test and its child.
const (
	offLock    = 0  // the Spinlock's word
	offReady   = 4  // uint32: the child is ready (and, for "hold", holds the lock)
	offGo      = 8  // uint32: the parent says start (count) or release (hold)
	offCounter = 16 // uint64: incremented with a plain load and store, under the lock
	offInside  = 24 // uint32: how many contenders are inside the lock now
	offOverlap = 28 // uint32: how many times one entered while another was inside
	segmentLen = 4096
)

var roles = map[string]func(*proc.Child) error{
	// count increments the counter n times under the lock once told to go.
	"lab06-count": func(c *proc.Child) error {
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
		waitFor(seg, offGo)
		increment(seg, n)
		return nil
	},
	// hold takes the lock, says so, and lets go when told.
	"lab06-hold": func(c *proc.Child) error {
		seg, err := shm.Open(c.Files[0])
		if err != nil {
			return err
		}
		defer seg.Close()
		lock := New(seg.Uint32(offLock))
		lock.Lock()
		seg.Uint32(offReady).Store(1)
		waitFor(seg, offGo)
		lock.Unlock()
		return nil
	},
}

func TestMain(m *testing.M) {
	proc.Main(roles)
	os.Exit(m.Run())
}

// waitFor waits until the flag at off is set, for at most 10 s.
func waitFor(seg *shm.Segment, off int) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Microsecond) {
		if seg.Uint32(off).Load() != 0 {
			return true
		}
	}
	return false
}

// increment adds n to the counter, one plain load and store at a time,
// each under the lock: two contenders inside at once lose counts. It also
// counts how often a contender enters while another is inside, and now
// and then yields inside, so that a lock that does not exclude is caught
// between goroutines too.
func increment(seg *shm.Segment, n int) {
	lock, counter := New(seg.Uint32(offLock)), shm.At[uint64](seg, offCounter)
	inside, overlaps := seg.Uint32(offInside), seg.Uint32(offOverlap)
	for i := range n {
		lock.Lock()
		if inside.Add(1) != 1 {
			overlaps.Add(1)
		}
		v := *counter
		if i%64 == 0 {
			runtime.Gosched()
		}
		*counter = v + 1
		inside.Add(^uint32(0))
		if unlockPanics(lock) { // another contender took the lock from us
			overlaps.Add(1)
		}
	}
}

// start creates a segment and starts a child playing role on it.
func start(t *testing.T, role string, args ...string) (*shm.Segment, *proc.Process) {
	t.Helper()
	t.Cleanup(func() {
		if kids, _ := peer.Children(); len(kids) > 0 {
			t.Errorf("processes left running: %v", kids)
		}
	})
	seg, err := shm.Create("lab06", segmentLen)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { seg.Close() })
	p, err := proc.Start(proc.Spec{Role: role, Args: args, Files: []*os.File{seg.File()}, Stderr: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		seg.Uint32(offGo).Store(1) // let go, whatever happened
		var st proc.Status
		if !within(10*time.Second, func() { st, _ = p.Wait() }) {
			p.Signal(syscall.SIGKILL)
			st, _ = p.Wait()
		}
		if st.Code != 0 || st.Signal != 0 {
			t.Errorf("child %s %d %s", role, p.Pid, st)
		}
	})
	if !waitFor(seg, offReady) {
		t.Fatalf("the %s child did not get ready in 10 s (for lab06-hold: its Lock never returned on a free lock)", role)
	}
	return seg, p
}

// unlockPanics calls Unlock and reports whether it panicked.
func unlockPanics(l *Spinlock) (panicked bool) {
	defer func() { panicked = recover() != nil }()
	l.Unlock()
	return false
}

func TestLab06TryLock(t *testing.T) {
	var word atomic.Uint32 // a word of this process's memory will do here
	l := New(&word)
	if !l.TryLock() {
		t.Fatalf("TryLock on a free lock (word 0) returned false")
	}
	if l.Holder() != os.Getpid() {
		t.Fatalf("after TryLock the word holds %d, want this process's pid %d", l.Holder(), os.Getpid())
	}
	if l.TryLock() {
		t.Errorf("a second TryLock of a taken lock returned true: it is not reentrant, the word is not 0")
	}
	if unlockPanics(l) {
		t.Fatalf("Unlock by the holder panicked")
	}
	if l.Holder() != 0 {
		t.Errorf("after Unlock the word holds %d, want 0", l.Holder())
	}
	if !unlockPanics(l) {
		t.Errorf("Unlock of a free lock must panic: it is a bug that would let two holders in")
	}
	if !l.TryLock() {
		t.Errorf("TryLock after Unlock returned false")
	}
}

// TestLab06HeldByAnotherProcess has a child hold the lock: this process
// cannot take it, cannot free it, and waits in Lock until the child lets go.
func TestLab06HeldByAnotherProcess(t *testing.T) {
	seg, child := start(t, "lab06-hold")
	l := New(seg.Uint32(offLock))
	if l.Holder() != child.Pid {
		t.Fatalf("the child %d took the lock, but the word holds %d: Lock must store the holder's pid", child.Pid, l.Holder())
	}
	if l.TryLock() {
		t.Fatalf("TryLock took a lock held by another process")
	}
	if !unlockPanics(l) || l.Holder() != child.Pid {
		t.Errorf("Unlock by a process that does not hold the lock must panic and leave it to its holder; the word holds %d now, the holder is %d", l.Holder(), child.Pid)
	}
	var released time.Time
	locked := make(chan time.Time, 1)
	go func() { l.Lock(); locked <- time.Now() }()
	time.Sleep(200 * time.Millisecond)
	select {
	case <-locked:
		t.Fatalf("Lock returned while another process held the lock")
	default:
	}
	released = time.Now()
	seg.Uint32(offGo).Store(1)
	select {
	case at := <-locked:
		if at.Before(released) {
			t.Errorf("Lock returned before the holder let go")
		}
		if l.Holder() != os.Getpid() {
			t.Errorf("after Lock the word holds %d, want this process's pid %d", l.Holder(), os.Getpid())
		}
		l.Unlock()
	case <-time.After(5 * time.Second):
		t.Fatalf("Lock still waiting 5 s after the holder let go")
	}
}

// TestLab06NoLostIncrements has a child process and two goroutines of this
// one add to the same counter under the lock, with a plain load and store:
// a lost increment means two contenders were inside at once.
func TestLab06NoLostIncrements(t *testing.T) {
	const n = 100000
	seg, child := start(t, "lab06-count", strconv.Itoa(n))
	seg.Uint32(offGo).Store(1)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { increment(seg, n) })
	}
	if !within(20*time.Second, wg.Wait) {
		t.Fatalf("the goroutines' %d Lock/Unlock each did not end in 20 s: a Lock waits for ever", n)
	}
	if !within(20*time.Second, func() { child.Wait() }) {
		t.Fatalf("the child's %d Lock/Unlock did not end in 20 s: a Lock waits for ever", n)
	}
	if got := *shm.At[uint64](seg, offCounter); got != 3*n {
		t.Errorf("3 contenders (2 goroutines, 1 process) added %d each under the lock: the counter is %d, want %d; %s",
			n, got, 3*n, lost(got, 3*n))
	}
	if o := seg.Uint32(offOverlap).Load(); o > 0 {
		t.Errorf("%d times a contender got the lock while another held it", o)
	}
	if h := New(seg.Uint32(offLock)).Holder(); h != 0 {
		t.Errorf("after every Unlock the word holds %d, want 0", h)
	}
}

func lost(got, want uint64) string {
	if got < want {
		return fmt.Sprintf("%d increments lost: two contenders were inside the lock at once", want-got)
	}
	return "more than were made?"
}

// within runs f and reports whether it returned within d; if not, f goes
// on in the background.
func within(d time.Duration, f func()) bool {
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}
