package shm

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

// Why sync/atomic works across processes
//
// An atomic add or compare-and-swap is one CPU instruction (LOCK XADD,
// LOCK CMPXCHG on amd64; LDADDAL, CASAL on arm64). The CPU's cache
// coherence protocol makes it atomic on the cache line that holds the
// word, and cache lines belong to physical memory, not to a process's
// virtual addresses. Two processes that map the same memfd page see it at
// different virtual addresses but the same physical page, so the same
// instruction is just as atomic between them as between two goroutines.
// The orderings come with it: what a process stored before an atomic
// store is visible to a process that loads that store's value.
//
// Two conditions make it hold. The word must be naturally aligned (a
// 64-bit word at an offset that is a multiple of 8): the mapping starts on
// a page boundary, so an aligned offset is an aligned address, and an
// unaligned atomic could straddle two cache lines. And every process must
// use atomic instructions on that word: one plain store among them can be
// split or reordered and breaks the guarantee.
//
// Go's race detector does not watch this memory: it tracks the Go heap and
// globals only, and the mapping is neither. Correctness here is argued, and
// tested with real processes, not detected.

// At returns a *T that points into the segment at byte offset off: a way
// to lay a Go struct over shared memory, as C code casts the mmap'd
// pointer to a struct. T must hold no Go pointers, slices, strings, maps or
// interfaces (only numbers, arrays of them, and sync/atomic types), and
// off must be aligned for T. The pointer is valid until Close. At panics
// on a misaligned or out-of-range offset: that is a layout bug, not a
// runtime condition.
func At[T any](s *Segment, off int) *T {
	var zero T
	size, align := int(unsafe.Sizeof(zero)), int(unsafe.Alignof(zero))
	if off < 0 || off+size > len(s.Bytes) {
		panic(fmt.Sprintf("shm: %T at offset %d (%d bytes) is outside the %d-byte segment", zero, off, size, len(s.Bytes)))
	}
	if off%align != 0 {
		panic(fmt.Sprintf("shm: %T at offset %d is not %d-byte aligned", zero, off, align))
	}
	return (*T)(unsafe.Pointer(&s.Bytes[off]))
}

// Uint32 is the 32-bit word at off (a multiple of 4), for atomic use by
// every process that maps the segment.
func (s *Segment) Uint32(off int) *atomic.Uint32 { return At[atomic.Uint32](s, off) }

// Uint64 is the 64-bit word at off, which must be a multiple of 8 (64-bit
// atomics need 8-byte alignment, on 32-bit platforms too).
func (s *Segment) Uint64(off int) *atomic.Uint64 {
	if off%8 != 0 {
		panic(fmt.Sprintf("shm: 64-bit word at offset %d is not 8-byte aligned", off))
	}
	return At[atomic.Uint64](s, off)
}
