package scoreboard

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// slotRecord is one slot as it lies in shared memory: php-fpm's
// fpm_scoreboard_proc_s, with its field sizes for the strings.
type slotRecord struct {
	// claim is the pid of the process that owns the slot, 0 when free.
	// Acquire takes it with a compare-and-swap, so two processes looking
	// for a free slot at once cannot both get this one. It is outside the
	// seqlock: it says who may write, not what is written. It is set before
	// the record's pid, so that a worker killed in between still leaves a
	// slot the master can Reclaim.
	claim atomic.Uint32

	seq           seqlock       // guards everything below
	pid           atomic.Uint32 // 0 while the slot is free
	stage         atomic.Uint32 // a Stage
	processStart  atomic.Int64  // unix nanoseconds
	requests      atomic.Uint64 // requests served in this slot
	requestStart  atomic.Int64  // unix nanoseconds, when the request's headers began
	duration      atomic.Int64  // nanoseconds, set when the request ended
	contentLength atomic.Int64
	cpu           atomic.Int64      // nanoseconds of user+system CPU the last request took
	memory        atomic.Uint64     // bytes, the last request's peak
	method        [2]atomic.Uint64  // char request_method[16]
	uri           [16]atomic.Uint64 // char request_uri[128]
	query         [64]atomic.Uint64 // char query_string[512]
	script        [32]atomic.Uint64 // char script_filename[256]
	user          [4]atomic.Uint64  // char auth_user[32]
}

// ErrFull is returned by Acquire when every slot is taken.
var ErrFull = errors.New("no free slot")

// Slot is a slot owned by one worker (or one coroutine of a worker): the
// only writer of its record. Its methods are for that owner alone.
type Slot struct {
	r     *slotRecord
	index int
	// began is when the request began, with Go's monotonic clock: the
	// duration End records does not jump when the wall clock is set.
	began time.Time
	board *Board
}

// Acquire takes a free slot for the process pid, in stage Creating.
func (b *Board) Acquire(pid int) (*Slot, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("scoreboard: acquire: pid %d, want > 0", pid)
	}
	for i, r := range b.slots {
		// Load before the compare-and-swap: a failed CAS still takes the
		// cache line from the CPU of the worker writing that slot.
		if r.claim.Load() != 0 || !r.claim.CompareAndSwap(0, uint32(pid)) {
			continue
		}
		r.seq.beginWrite()
		r.clear()
		r.pid.Store(uint32(pid))
		r.processStart.Store(time.Now().UnixNano())
		r.seq.endWrite()
		return &Slot{r: r, index: i, board: b}, nil
	}
	return nil, fmt.Errorf("scoreboard: pid %d: all %d slots taken: %w", pid, len(b.slots), ErrFull)
}

// clear zeroes a record but its claim and seq: what a free slot holds.
func (r *slotRecord) clear() {
	r.pid.Store(0)
	r.stage.Store(uint32(Creating))
	r.processStart.Store(0)
	r.requests.Store(0)
	r.setRequest(Request{})
}

// setRequest writes what Begin records, with a zero start and duration.
func (r *slotRecord) setRequest(q Request) {
	r.requestStart.Store(0)
	r.duration.Store(0)
	r.cpu.Store(0)
	r.memory.Store(0)
	r.contentLength.Store(q.ContentLength)
	path, query, _ := strings.Cut(q.URI, "?")
	storeText(r.method[:], q.Method)
	storeText(r.uri[:], path)
	storeText(r.query[:], query)
	storeText(r.script[:], q.Script)
	storeText(r.user[:], q.User)
}

// Index is the slot's number on the board.
func (s *Slot) Index() int { return s.index }

// Request is what a slot shows of the request being served. Strings
// longer than php-fpm's fields are cut: 15 bytes of method, 127 of path,
// 511 of query string, 255 of script and 31 of user.
type Request struct {
	// Began is when the worker started reading the request (its accept);
	// zero means now.
	Began time.Time
	// Method is REQUEST_METHOD.
	Method string
	// URI is REQUEST_URI: the path and, after a '?', the query string,
	// kept apart so that a long query does not cut the path.
	URI string
	// ContentLength is CONTENT_LENGTH.
	ContentLength int64
	// Script is SCRIPT_FILENAME.
	Script string
	// User is REMOTE_USER, from HTTP authentication.
	User string
}

// Begin records a new request, in stage Info (its parameters are known),
// and counts it in the slot and in the pool's accepted conn.
func (s *Slot) Begin(q Request) {
	if q.Began.IsZero() {
		q.Began = time.Now()
	}
	s.began = q.Began
	r := s.r
	r.seq.beginWrite()
	r.setRequest(q)
	r.requestStart.Store(q.Began.UnixNano())
	r.requests.Add(1)
	r.stage.Store(uint32(Info))
	r.seq.endWrite()
	s.board.h.accepted.Add(1)
}

// Stage records the stage the request has reached.
func (s *Slot) Stage(st Stage) {
	s.r.seq.beginWrite()
	s.r.stage.Store(uint32(st))
	s.r.seq.endWrite()
}

// End records that the response went out (stage Ending), the request's
// duration, and what it cost: CPU time (user+system) and peak memory, as
// the worker measured them.
func (s *Slot) End(cpu time.Duration, memory uint64) {
	d := time.Since(s.began)
	r := s.r
	r.seq.beginWrite()
	r.stage.Store(uint32(Ending))
	r.duration.Store(int64(d))
	r.cpu.Store(int64(cpu))
	r.memory.Store(memory)
	r.seq.endWrite()
}

// Release frees the slot for another owner. The slot must not be used
// after.
func (s *Slot) Release() {
	s.r.seq.beginWrite()
	s.r.clear()
	s.r.seq.endWrite()
	s.r.claim.Store(0) // last: the next owner finds the record clear
}

// Reclaim frees the slots of pid, a worker the master has reaped: it
// cannot release them itself. Call it once the worker is reaped (before
// that it may still be writing) and before starting the next worker (the
// kernel may give it the same pid). A worker killed inside a write left its
// seqlock odd; the master, now the only writer, repairs it. Reclaim
// returns how many slots pid held.
func (b *Board) Reclaim(pid int) int {
	n := 0
	for _, r := range b.slots {
		if int(r.claim.Load()) != pid {
			continue
		}
		r.seq.repair()
		r.seq.beginWrite()
		r.clear()
		r.seq.endWrite()
		r.claim.Store(0)
		n++
	}
	return n
}
