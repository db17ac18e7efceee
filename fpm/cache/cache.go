// Package cache is a key-value cache in shared memory that every worker of
// a pool reads and writes: what APCu is to php-fpm. A value one worker
// stores, another fetches; a counter they all increment (Inc, apcu_inc)
// counts every increment.
//
// The cache is a fixed-size hash table laid out in a shm.Segment: a
// header, then Config.Entries' worth of slots, each with room for a key
// of up to MaxKey bytes and a value of up to MaxValue bytes. Nothing is
// allocated after New: a worker cannot grow memory that other processes
// have mapped, and a Go pointer would mean nothing to them anyway. The
// bounds are the price: a key or value too long, or a table full of live
// entries, is an error the caller sees (ErrTooLong, ErrFull).
//
// Layout, in the segment:
//
//	offset 0           header: magic, sizes, the lock, counters
//	headerSize         slot 0: hash, expiry, lengths, key bytes, value bytes
//	+ slotSize         slot 1 ...
//
// # One lock for the table
//
// Every operation takes one shm.Spinlock for the whole table, as APCu
// takes one lock for its whole cache. A lock per bucket would let two
// workers work on different keys at once, but this table uses open
// addressing (linear probing): a lookup may walk past its home bucket into
// others, and a delete moves entries back across buckets to close the gap,
// so a per-bucket lock would have to be taken in runs, with an order to
// avoid deadlock, for a gain that stays small when every operation is a
// few hundred nanoseconds. A read-write lock would not help either: a
// Fetch writes too (the hit and miss counts, and an expired entry it
// drops), so there are no pure readers. A spinlock suits critical
// sections this short, which never make a system call.
//
// Under the lock, the table's memory is read and written with plain loads
// and stores: the lock's compare-and-swap and its release are atomic, and
// they order everything between them for the next process that takes it.
//
// A process killed while it holds the lock leaves it taken, and whatever
// it was changing half-done: the whole pool then waits. Its parent, which
// reaps it, can see it as the holder (Holder) and wipe the table
// (Recover): a cache may always forget, it must never lie.
package cache

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/corofpm/corofpm/fpm/shm"
)

// magic marks a segment laid out by this version of the package
// ("cfpmca01" in ASCII).
const magic = 0x31306163_6d706663

// Config sizes a cache. Every figure is fixed for the cache's life.
type Config struct {
	// Entries is how many live entries the table holds at most.
	Entries int
	// MaxKey and MaxValue bound a key's and a value's length in bytes:
	// every slot has room for the longest of both, so they decide the
	// segment's size with Entries.
	MaxKey, MaxValue int
}

// header is the start of the segment. Every field but lock and the sizes
// (written once, before any worker maps the segment) is read and written
// only by the lock's holder.
type header struct {
	magic                 uint64
	slots                 uint64 // a power of two, > capacity
	capacity              uint64 // Config.Entries
	maxKey, maxValue      uint64
	lock                  uint32 // a shm.Spinlock
	_                     uint32
	entries               uint64 // live entries, expired ones not yet dropped included
	used                  uint64 // bytes of keys and values of those entries
	hits, misses, expired uint64
}

// slot is the fixed part of a table slot; its key and value bytes follow.
type slot struct {
	hash    uint64
	expires int64  // unix nanoseconds, 0 for never
	keyLen  uint32 // 0 for an empty slot: a key is never empty
	valLen  uint32
}

var (
	headerSize   = roundUp(int(unsafe.Sizeof(header{})), 64)
	slotOverhead = int(unsafe.Sizeof(slot{}))
)

func roundUp(n, to int) int { return (n + to - 1) / to * to }

// slotsFor is the table's number of slots for capacity entries: at least
// a third more than the entries, so that a linear probe stays short even
// when the table is full, and a power of two, so that a hash becomes a
// slot number with a mask.
func slotsFor(capacity int) int {
	n := 1
	for n < capacity+capacity/3+1 {
		n *= 2
	}
	return n
}

func (c Config) slotSize() int { return roundUp(slotOverhead+c.MaxKey+c.MaxValue, 8) }

// Size is how many bytes a cache configured by c takes: the size to give
// shm.Create.
func Size(c Config) int { return headerSize + slotsFor(c.Entries)*c.slotSize() }

// Errors a caller can test for with errors.Is.
var (
	// ErrTooLong: a key or value is longer than the cache's bound, or a
	// key is empty.
	ErrTooLong = errors.New("does not fit")
	// ErrFull: every entry is live and none has expired; the store is
	// refused, nothing is evicted.
	ErrFull = errors.New("cache full")
	// ErrExists: Add found the key already there.
	ErrExists = errors.New("key exists")
	// ErrNotNumber: Inc found a value that is not a decimal integer.
	ErrNotNumber = errors.New("not a number")
	// ErrNotCache: Attach was given a segment New did not lay out.
	ErrNotCache = errors.New("not a cache")
)

// Cache is the cache seen from one process.
type Cache struct {
	h    *header
	lock *shm.Spinlock
	// lockWord is the lock's word, for Recover to take over a dead
	// holder's lock in one compare-and-swap.
	lockWord *atomic.Uint32
	// table is the slots' memory, a part of the segment's mapping.
	table []byte
	// mask is slots-1: a hash's home slot is hash & mask.
	mask     uint64
	slotSize int
	cfg      Config
	// now is the clock for expiry: wall time, which every process shares
	// (Go's monotonic clock is each process's own). Tests replace it.
	now func() time.Time
}

// New lays out a cache in seg, which must be fresh (zeroed) and at least
// Size(c). It is called once, by the process that created the segment,
// before it passes the segment to others.
func New(seg *shm.Segment, c Config) (*Cache, error) {
	if c.Entries <= 0 || c.MaxKey <= 0 || c.MaxValue <= 0 {
		return nil, fmt.Errorf("cache: %d entries, keys of %d bytes, values of %d: each must be > 0", c.Entries, c.MaxKey, c.MaxValue)
	}
	if len(seg.Bytes) < Size(c) {
		return nil, fmt.Errorf("cache: %d entries of %d+%d bytes need %d bytes, the segment has %d",
			c.Entries, c.MaxKey, c.MaxValue, Size(c), len(seg.Bytes))
	}
	h := shm.At[header](seg, 0)
	h.slots = uint64(slotsFor(c.Entries))
	h.capacity = uint64(c.Entries)
	h.maxKey, h.maxValue = uint64(c.MaxKey), uint64(c.MaxValue)
	seg.Uint64(0).Store(magic) // last, and atomic: the cache is valid once it has its magic
	return attach(seg), nil
}

// Attach is another process's view of the cache New laid out in seg.
func Attach(seg *shm.Segment) (*Cache, error) {
	if len(seg.Bytes) < headerSize {
		return nil, fmt.Errorf("cache: segment of %d bytes: %w", len(seg.Bytes), ErrNotCache)
	}
	if m := seg.Uint64(0).Load(); m != magic {
		return nil, fmt.Errorf("cache: magic %#x, want %#x: %w", m, uint64(magic), ErrNotCache)
	}
	h := shm.At[header](seg, 0)
	c := Config{Entries: int(h.capacity), MaxKey: int(h.maxKey), MaxValue: int(h.maxValue)}
	if len(seg.Bytes) < Size(c) || int(h.slots) != slotsFor(c.Entries) {
		return nil, fmt.Errorf("cache: %d entries of %d+%d bytes need %d bytes, the segment has %d: %w",
			c.Entries, c.MaxKey, c.MaxValue, Size(c), len(seg.Bytes), ErrNotCache)
	}
	return attach(seg), nil
}

func attach(seg *shm.Segment) *Cache {
	h := shm.At[header](seg, 0)
	cfg := Config{Entries: int(h.capacity), MaxKey: int(h.maxKey), MaxValue: int(h.maxValue)}
	size := cfg.slotSize()
	return &Cache{
		h:        h,
		lock:     seg.Spinlock(int(unsafe.Offsetof(h.lock))),
		lockWord: seg.Uint32(int(unsafe.Offsetof(h.lock))),
		table:    seg.Bytes[headerSize : headerSize+int(h.slots)*size],
		mask:     h.slots - 1,
		slotSize: size,
		cfg:      cfg,
		now:      time.Now,
	}
}

// Config is the cache's configuration, as New was given it.
func (c *Cache) Config() Config { return c.cfg }

// Info is a snapshot of the cache's figures, as apcu_cache_info() gives
// them.
type Info struct {
	// Entries are the live entries (num_entries), and Capacity the most
	// the table holds.
	Entries, Capacity int
	// Hits and Misses count Fetch and Inc lookups that found their key or
	// did not (num_hits, num_misses), since New.
	Hits, Misses uint64
	// Expired counts entries dropped because their time to live had passed.
	Expired uint64
	// Used is the bytes of the live keys and values (mem_size); Size is
	// the whole segment: what the fixed slots cost whatever they hold.
	Used, Size int
}

// Info reads the figures, under the lock so that they agree.
func (c *Cache) Info() Info {
	c.lock.Lock()
	defer c.lock.Unlock()
	h := c.h
	return Info{
		Entries: int(h.entries), Capacity: int(h.capacity),
		Hits: h.hits, Misses: h.misses, Expired: h.expired,
		Used: int(h.used), Size: headerSize + len(c.table),
	}
}

// Holder is the pid that holds the table's lock, 0 when it is free.
func (c *Cache) Holder() int { return c.lock.Holder() }

// Recover takes over the lock held by dead, a process its caller has
// reaped, and empties the table, which dead may have left half-changed.
// The lock passes from dead to this process in one compare-and-swap: no
// other process gets in between to see the damage. It reports whether
// dead held the lock (if not, it does nothing). As shm.Spinlock.Break
// says, never guess deadness: a reaped pid can be reused.
func (c *Cache) Recover(dead int) bool {
	if dead <= 0 || !c.lockWord.CompareAndSwap(uint32(dead), uint32(os.Getpid())) {
		return false
	}
	defer c.lock.Unlock()
	c.clear()
	return true
}
