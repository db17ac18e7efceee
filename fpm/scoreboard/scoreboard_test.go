package scoreboard_test

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/fpm/scoreboard"
	"github.com/corofpm/corofpm/fpm/shm"
	"github.com/corofpm/corofpm/tutorial/peer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var roles = map[string]func(*proc.Child) error{
	// write serves made-up requests in one slot until it is killed.
	"write": func(c *proc.Child) error {
		b, err := attach(c)
		if err != nil {
			return err
		}
		slot, err := b.Acquire(os.Getpid())
		if err != nil {
			return err
		}
		for i := 1; ; i++ {
			serve(slot, i)
		}
	},
	// hold takes n slots, begins a request in each, says so and waits.
	"hold": func(c *proc.Child) error {
		b, err := attach(c)
		if err != nil {
			return err
		}
		n, _ := strconv.Atoi(c.Args[0])
		for i := range n {
			slot, err := b.Acquire(os.Getpid())
			if err != nil {
				return err
			}
			slot.Begin(request(i + 1))
		}
		fmt.Println("holding")
		select {}
	},
}

func TestMain(m *testing.M) {
	proc.Main(roles)
	os.Exit(m.Run())
}

func attach(c *proc.Child) (*scoreboard.Board, error) {
	seg, err := shm.Open(c.Files[0])
	if err != nil {
		return nil, err
	}
	return scoreboard.Attach(seg)
}

// request is the i-th made-up request. Every field is derived from i, with
// lengths that vary so that their NULs move across word boundaries: a
// view mixing two requests cannot pass consistent.
func request(i int) scoreboard.Request {
	pad := strings.Repeat("x", i%37)
	return scoreboard.Request{
		Method:        [...]string{"GET", "POST", "OPTIONS"}[i%3],
		URI:           fmt.Sprintf("/r/%s%d?q=%d%s", pad, i, i, pad),
		ContentLength: int64(i),
		Script:        fmt.Sprintf("/srv/%d/%s.php", i, pad),
		User:          "u" + strconv.Itoa(i) + strings.Repeat("y", i%7),
	}
}

// serve takes the slot through the i-th request's stages, as a worker
// does; the request's CPU and memory figures are i too.
func serve(slot *scoreboard.Slot, i int) {
	slot.Stage(scoreboard.Accepting)
	slot.Stage(scoreboard.ReadingHeaders)
	slot.Begin(request(i))
	slot.Stage(scoreboard.Executing)
	slot.End(time.Duration(i), uint64(i))
	slot.Stage(scoreboard.Finishing)
}

// consistent says what is wrong with v, a view of a slot that served
// requests 1, 2, ... i, or "" when it is one state the slot was in.
func consistent(v scoreboard.SlotView) string {
	i := int(v.ContentLength)
	if v.Requests != uint64(i) {
		return fmt.Sprintf("requests %d, content length %d", v.Requests, i)
	}
	if i == 0 {
		return "" // no request yet
	}
	want := request(i)
	if v.Method != want.Method || v.URI != want.URI || v.Script != want.Script || v.User != want.User {
		return fmt.Sprintf("request %d: %s %s %s %s", i, v.Method, v.URI, v.Script, v.User)
	}
	// Begin clears the figures End sets: from Begin to End they are zero,
	// and they stay through the next request's first stages.
	ended := v.Stage != scoreboard.Info && v.Stage != scoreboard.Executing
	if ended != (v.CPU == time.Duration(i) && v.Memory == uint64(i)) {
		return fmt.Sprintf("request %d in stage %v: cpu %v memory %d", i, v.Stage, v.CPU, v.Memory)
	}
	return ""
}

func newBoard(t testing.TB, slots int) (*scoreboard.Board, *shm.Segment) {
	seg, err := shm.Create("scoreboard", scoreboard.Size(slots))
	require.NoError(t, err)
	t.Cleanup(func() { seg.Close() })
	b, err := scoreboard.New(seg, slots, "www", "static")
	require.NoError(t, err)
	return b, seg
}

func noChildrenLeft(t *testing.T) {
	t.Cleanup(func() {
		kids, err := peer.Children()
		require.NoError(t, err)
		assert.Empty(t, kids, "children left running")
	})
}

// TestNoTornReadsFromAChild reads the slot a child process rewrites as
// fast as it can. Every copy is one state the slot was really in. Then the
// child is killed, perhaps in the middle of a write, and the master's
// Reclaim frees its slot.
func TestNoTornReadsFromAChild(t *testing.T) {
	noChildrenLeft(t)
	b, seg := newBoard(t, 4)
	p, err := proc.Start(proc.Spec{Role: "write", Files: []*os.File{seg.File()}, Stderr: os.Stderr})
	require.NoError(t, err)
	t.Cleanup(func() { p.Signal(syscall.SIGKILL); p.Wait() })

	// Read until we have seen the writer at enough different requests:
	// each is a copy taken while it was writing. (On a busy machine the
	// two processes often take turns on one CPU instead of overlapping.)
	seen := map[int64]bool{}
	views := 0
	deadline := time.Now().Add(10 * time.Second)
	for (views < 20000 || len(seen) < 300) && time.Now().Before(deadline) {
		for _, v := range b.Snapshot() {
			if msg := consistent(v); v.Stuck || v.PID != p.Pid || msg != "" {
				t.Fatalf("torn view: %s %+v", msg, v)
			}
			seen[v.ContentLength] = true
			views++
		}
	}
	t.Logf("%d views of %d different requests, none torn", views, len(seen))
	assert.GreaterOrEqual(t, len(seen), 30, "the reader saw the writer make progress")

	require.NoError(t, p.Signal(syscall.SIGKILL))
	_, err = p.Wait()
	require.NoError(t, err)
	assert.Equal(t, 1, b.Reclaim(p.Pid), "the dead child's slot")
	assert.Empty(t, b.Snapshot())
	slot, err := b.Acquire(os.Getpid())
	require.NoError(t, err)
	assert.Equal(t, 0, slot.Index(), "the reclaimed slot is free again")
}

// TestWritersAndReadersInOneProcess has goroutines write slots and the
// pool figures while others read them. The race detector watches what it
// can: the Go side of Board and Slot (the mapping itself is outside its
// view, see package shm).
func TestWritersAndReadersInOneProcess(t *testing.T) {
	b, _ := newBoard(t, 4)
	const n = 3000
	var writers, readers sync.WaitGroup
	for range 2 {
		writers.Go(func() {
			slot, err := b.Acquire(os.Getpid())
			assert.NoError(t, err)
			for i := 1; i <= n; i++ {
				serve(slot, i)
			}
		})
	}
	writers.Go(func() { // the master: the pool figures' one writer
		for i := range n {
			b.SetProcesses(i%5, 4-i%5)
		}
	})
	done := make(chan struct{})
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				for _, v := range b.Snapshot() {
					if msg := consistent(v); msg != "" {
						t.Errorf("torn view: %s", msg)
						return
					}
				}
				if p := b.Pool(); p.IdleProcesses+p.ActiveProcesses != p.TotalProcesses {
					t.Errorf("torn pool figures: %+v", p)
					return
				}
			}
		})
	}
	writers.Wait()
	close(done)
	readers.Wait()
	assert.Equal(t, uint64(2*n), b.Pool().AcceptedConn)
}

func TestSlotsAreFreedAndReused(t *testing.T) {
	b, _ := newBoard(t, 3)
	var slots []*scoreboard.Slot
	for i := range 3 {
		s, err := b.Acquire(100 + i)
		require.NoError(t, err)
		assert.Equal(t, i, s.Index())
		slots = append(slots, s)
	}
	_, err := b.Acquire(200)
	assert.ErrorIs(t, err, scoreboard.ErrFull)
	assert.EqualError(t, err, "scoreboard: pid 200: all 3 slots taken: no free slot")

	slots[1].Begin(request(5))
	slots[1].Release()
	views := b.Snapshot()
	require.Len(t, views, 2)
	assert.Equal(t, []int{100, 102}, []int{views[0].PID, views[1].PID})

	s, err := b.Acquire(200)
	require.NoError(t, err)
	assert.Equal(t, 1, s.Index(), "the freed slot")
	v := b.Snapshot()[1]
	assert.Equal(t, scoreboard.SlotView{Index: 1, PID: 200, Stage: scoreboard.Creating, StartTime: v.StartTime}, v,
		"nothing of the last owner's request is left")
	assert.WithinDuration(t, time.Now(), v.StartTime, time.Minute)
}

func TestReclaimSlotsOfAKilledWorker(t *testing.T) {
	noChildrenLeft(t)
	b, seg := newBoard(t, 4)
	out, w, err := os.Pipe()
	require.NoError(t, err)
	defer out.Close()
	p, err := proc.Start(proc.Spec{Role: "hold", Args: []string{"3"}, Files: []*os.File{seg.File()}, Stdout: w, Stderr: os.Stderr})
	w.Close()
	require.NoError(t, err)
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "holding\n", line)

	views := b.Snapshot()
	require.Len(t, views, 3)
	assert.Equal(t, "/r/x1?q=1x", views[0].URI)
	assert.Equal(t, scoreboard.Info, views[0].Stage)
	assert.Equal(t, uint64(3), b.Pool().AcceptedConn, "the child's requests count in the pool")

	require.NoError(t, p.Signal(syscall.SIGKILL))
	_, err = p.Wait()
	require.NoError(t, err)
	assert.Len(t, b.Snapshot(), 3, "a dead worker's slots stay taken")
	assert.Equal(t, 3, b.Reclaim(p.Pid))
	assert.Empty(t, b.Snapshot())
	assert.Equal(t, 0, b.Reclaim(p.Pid))
}

func TestPoolFigures(t *testing.T) {
	before := time.Now()
	b, seg := newBoard(t, 2)
	// A second mapping of the segment, as a worker has.
	other, err := scoreboard.Attach(seg)
	require.NoError(t, err)

	s, err := other.Acquire(1)
	require.NoError(t, err)
	for i := range 3 {
		s.Begin(request(i + 1))
		s.End(0, 0)
	}
	b.SetListenQueue(5, 511)
	b.SetListenQueue(2, 511)
	b.SetProcesses(1, 3)
	b.SetProcesses(3, 1)
	other.CountMaxChildrenReached()
	b.CountSlowRequest()
	b.CountSlowRequest()

	p := b.Pool()
	assert.WithinRange(t, p.StartTime, before, time.Now())
	assert.Greater(t, p.StartSince, time.Duration(0))
	p.StartTime, p.StartSince = time.Time{}, 0
	assert.Equal(t, scoreboard.Pool{
		Name: "www", ProcessManager: "static",
		AcceptedConn: 3,
		ListenQueue:  2, MaxListenQueue: 5, ListenQueueLen: 511,
		IdleProcesses: 3, ActiveProcesses: 1, TotalProcesses: 4, MaxActiveProcesses: 3,
		MaxChildrenReached: 1, SlowRequests: 2,
	}, p)
}

func TestAttachRefusesOtherSegments(t *testing.T) {
	seg, err := shm.Create("zeros", scoreboard.Size(2))
	require.NoError(t, err)
	defer seg.Close()
	_, err = scoreboard.Attach(seg)
	assert.ErrorIs(t, err, scoreboard.ErrNotBoard)

	_, err = scoreboard.New(seg, 3, "www", "static")
	assert.EqualError(t, err, fmt.Sprintf("scoreboard: 3 slots need %d bytes, the segment has %d", scoreboard.Size(3), scoreboard.Size(2)))
}

func TestStageNames(t *testing.T) {
	for _, tc := range []struct {
		stage       scoreboard.Stage
		state, enum string
		busy        bool
	}{
		{scoreboard.Creating, "Creating", "FPM_REQUEST_CREATING", false},
		{scoreboard.Accepting, "Idle", "FPM_REQUEST_ACCEPTING", false},
		{scoreboard.ReadingHeaders, "Reading headers", "FPM_REQUEST_READING_HEADERS", true},
		{scoreboard.Info, "Getting request information", "FPM_REQUEST_INFO", true},
		{scoreboard.Executing, "Running", "FPM_REQUEST_EXECUTING", true},
		{scoreboard.Ending, "Ending", "FPM_REQUEST_END", true},
		{scoreboard.Finishing, "Finishing", "FPM_REQUEST_FINISHED", true},
		{scoreboard.Stage(7), "Stage(7)", "Stage(7)", true},
	} {
		assert.Equal(t, tc.state, tc.stage.String())
		assert.Equal(t, tc.enum, tc.stage.Enum())
		assert.Equal(t, tc.busy, tc.stage.Busy(), tc.state)
	}
}

// BenchmarkBeginEnd is what the scoreboard costs a worker per request.
func BenchmarkBeginEnd(b *testing.B) {
	board, _ := newBoard(b, 1)
	slot, err := board.Acquire(os.Getpid())
	require.NoError(b, err)
	q := scoreboard.Request{Method: "GET", URI: "/hello.php?name=world", Script: "/srv/www/hello.php"}
	b.ReportAllocs()
	for b.Loop() {
		slot.Begin(q)
		slot.End(0, 0)
	}
}
