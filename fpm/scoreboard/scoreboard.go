// Package scoreboard is the pool's shared record of what every worker is
// doing: php-fpm's fpm_scoreboard_s (pool figures) and its array of
// fpm_scoreboard_proc_s (one per worker), laid out in a shm.Segment that the
// master creates and every worker maps.
//
// Workers write: each into its own slot (the request it serves and its
// stage) and into the pool's counters (accepted conn). The master and the
// status page read, while the workers write. A worker must never wait for
// a reader, so a slot is not locked: it is a seqlock (see seqlock), which
// gives a reader a consistent copy of the slot, or a retry, and costs the
// writer two atomic adds per update.
//
// A slot is one in-flight request, not one process. A blocking worker
// holds one slot for its life; a coroutine worker takes a slot per request
// it has in hand, so the status page shows every request it serves.
// php-coroutine-engine gave all of a worker's coroutines one slot, so its
// status page showed one request per worker, however many were in flight.
//
// Layout, in the segment:
//
//	offset 0            header: magic, slot count, pool figures
//	headerSize          slot 0        (slotSize bytes, php-fpm's fpm_scoreboard_proc_s)
//	headerSize+slotSize slot 1 ...
//
// Every word is accessed atomically, by every process: one rule, no
// exception to argue about.
package scoreboard

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/corofpm/corofpm/fpm/shm"
)

// magic marks a segment laid out by this version of the package, so that
// Attach refuses anything else ("cfpmsb01" in ASCII).
const magic = 0x31306273_6d706663

// header is the start of the segment: php-fpm's fpm_scoreboard_s.
type header struct {
	magic atomic.Uint64
	slots atomic.Uint32

	// seq guards the figures the master writes (up to maxActive), so that
	// a reader never sees idle and active from two different updates.
	seq       seqlock
	pool      [4]atomic.Uint64 // char pool[32]: the pool's name
	pm        [2]atomic.Uint64 // "static", "dynamic", "ondemand"
	startTime atomic.Int64     // unix nanoseconds
	// The listen queue: connections the kernel accepted that no worker has
	// accept(2)ed yet, its highest value seen, and its capacity (backlog).
	listenQueue, maxListenQueue, listenQueueLen atomic.Int64
	// Processes by what their slots say; maxActive is the highest active.
	idle, active, total, maxActive atomic.Int64

	// Counters any process adds to, outside the seqlock: each is one word.
	accepted           atomic.Uint64 // requests begun, the status page's "accepted conn"
	maxChildrenReached atomic.Uint64 // times the manager wanted a worker over pm.max_children
	slowRequests       atomic.Uint64 // requests that ran past request_slowlog_timeout
}

// Slots start on a cache line (64 bytes) and span whole ones: two workers
// writing neighbouring slots in one line would take it from each other's
// CPU at every store (false sharing).
var (
	headerSize = roundUp(int(unsafe.Sizeof(header{})), 64)
	slotSize   = roundUp(int(unsafe.Sizeof(slotRecord{})), 64)
)

func roundUp(n, to int) int { return (n + to - 1) / to * to }

// Size is how many bytes a board of n slots takes: the size to give
// shm.Create.
func Size(slots int) int { return headerSize + slots*slotSize }

// Board is a scoreboard seen from one process.
type Board struct {
	h     *header
	slots []*slotRecord // into the segment
}

// New lays out a board of n slots in seg, for the pool named pool managed
// by pm ("static", "dynamic", "ondemand"). The master calls it once, before
// it starts any worker; seg must be fresh (zeroed) and at least Size(n).
func New(seg *shm.Segment, slots int, pool, pm string) (*Board, error) {
	if slots <= 0 || len(seg.Bytes) < Size(slots) {
		return nil, fmt.Errorf("scoreboard: %d slots need %d bytes, the segment has %d", slots, Size(slots), len(seg.Bytes))
	}
	h := shm.At[header](seg, 0)
	h.slots.Store(uint32(slots))
	storeText(h.pool[:], pool)
	storeText(h.pm[:], pm)
	h.startTime.Store(time.Now().UnixNano())
	h.magic.Store(magic) // last: a board is valid once it has its magic
	return attach(seg, slots), nil
}

// ErrNotBoard is returned by Attach for a segment New did not lay out.
var ErrNotBoard = errors.New("not a scoreboard")

// Attach is a worker's view of the board the master made in seg.
func Attach(seg *shm.Segment) (*Board, error) {
	if len(seg.Bytes) < headerSize {
		return nil, fmt.Errorf("scoreboard: segment of %d bytes: %w", len(seg.Bytes), ErrNotBoard)
	}
	h := shm.At[header](seg, 0)
	if m := h.magic.Load(); m != magic {
		return nil, fmt.Errorf("scoreboard: magic %#x, want %#x: %w", m, uint64(magic), ErrNotBoard)
	}
	slots := int(h.slots.Load())
	if len(seg.Bytes) < Size(slots) {
		return nil, fmt.Errorf("scoreboard: %d slots need %d bytes, the segment has %d: %w", slots, Size(slots), len(seg.Bytes), ErrNotBoard)
	}
	return attach(seg, slots), nil
}

func attach(seg *shm.Segment, n int) *Board {
	b := &Board{h: shm.At[header](seg, 0)}
	for i := range n {
		b.slots = append(b.slots, shm.At[slotRecord](seg, headerSize+i*slotSize))
	}
	return b
}

// Pool is a snapshot of the pool's figures, named as on php-fpm's status
// page.
type Pool struct {
	Name               string // "pool"
	ProcessManager     string // "process manager"
	StartTime          time.Time
	StartSince         time.Duration // how long the pool has run
	AcceptedConn       uint64
	ListenQueue        int
	MaxListenQueue     int
	ListenQueueLen     int
	IdleProcesses      int
	ActiveProcesses    int
	TotalProcesses     int
	MaxActiveProcesses int
	MaxChildrenReached uint64
	SlowRequests       uint64
}

// Pool reads the pool's figures. The master's figures are consistent with
// each other (one seqlock); the counters are each exact but read one
// after another, as php-fpm's status page reads them.
func (b *Board) Pool() Pool {
	h := b.h
	var p Pool
	h.seq.read(func() {
		p = Pool{
			Name:               loadText(h.pool[:]),
			ProcessManager:     loadText(h.pm[:]),
			StartTime:          time.Unix(0, h.startTime.Load()),
			ListenQueue:        int(h.listenQueue.Load()),
			MaxListenQueue:     int(h.maxListenQueue.Load()),
			ListenQueueLen:     int(h.listenQueueLen.Load()),
			IdleProcesses:      int(h.idle.Load()),
			ActiveProcesses:    int(h.active.Load()),
			TotalProcesses:     int(h.total.Load()),
			MaxActiveProcesses: int(h.maxActive.Load()),
		}
	})
	p.StartSince = time.Since(p.StartTime)
	p.AcceptedConn = h.accepted.Load()
	p.MaxChildrenReached = h.maxChildrenReached.Load()
	p.SlowRequests = h.slowRequests.Load()
	return p
}

// SetListenQueue records the listen queue the master measured: queued
// connections and the queue's capacity. Only the master writes these
// figures, from one goroutine (they are one seqlock's record).
func (b *Board) SetListenQueue(queued, capacity int) {
	h := b.h
	h.seq.beginWrite()
	h.listenQueue.Store(int64(queued))
	h.maxListenQueue.Store(max(h.maxListenQueue.Load(), int64(queued)))
	h.listenQueueLen.Store(int64(capacity))
	h.seq.endWrite()
}

// SetProcesses records how many of the pool's processes are idle and
// active, as the master counted them; the total is their sum. Master only,
// like SetListenQueue.
func (b *Board) SetProcesses(idle, active int) {
	h := b.h
	h.seq.beginWrite()
	h.idle.Store(int64(idle))
	h.active.Store(int64(active))
	h.total.Store(int64(idle + active))
	h.maxActive.Store(max(h.maxActive.Load(), int64(active)))
	h.seq.endWrite()
}

// CountMaxChildrenReached records that the process manager wanted another
// worker but pm.max_children was reached.
func (b *Board) CountMaxChildrenReached() { b.h.maxChildrenReached.Add(1) }

// CountSlowRequest records a request that ran past request_slowlog_timeout.
func (b *Board) CountSlowRequest() { b.h.slowRequests.Add(1) }
