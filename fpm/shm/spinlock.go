package shm

import (
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"time"
)

// Spinlock is a lock in shared memory that processes (and goroutines) take
// in turn: one 32-bit word, 0 when free, else the pid of the holder.
//
// php-fpm's scoreboard lock is the same idea with one difference: its word
// is just 1 while held (fpm_spinlock: compare-and-swap 0 to 1, sched_yield,
// again). A worker killed while it holds the lock leaves a 1 that says
// nothing about who set it, and every process that then waits for the lock
// yields for ever. Writing the pid instead costs nothing and lets the
// master, which reaps its dead workers, see that the holder is one of them
// and break the lock (Holder, Break).
//
// A spinlock suits critical sections of a few hundred nanoseconds, like
// bumping counters in a shared table; a waiter burns CPU while it waits, so
// never hold one across a system call that may block.
type Spinlock struct {
	word *atomic.Uint32
	pid  uint32 // ours, what we write to take the lock
}

// How Lock waits. Most waits are shorter than a cache miss's worth of
// spins: the holder runs on another CPU and is about to store 0. If not,
// the holder may be a goroutine of ours that the Go scheduler should run
// (Gosched), or another process waiting for our CPU: only sleeping gives
// it up to the kernel.
const (
	lockSpins  = 100
	lockYields = 10
	lockSleep  = 20 * time.Microsecond
)

// Spinlock is the lock whose word is at off (a multiple of 4). Zeroed
// memory is an unlocked lock, so a fresh segment needs no set-up.
func (s *Segment) Spinlock(off int) *Spinlock {
	return &Spinlock{word: s.Uint32(off), pid: uint32(os.Getpid())}
}

// TryLock takes the lock if it is free, without waiting. The plain load
// first keeps waiters from hammering the cache line with failed
// compare-and-swaps, each of which takes the line exclusive.
func (l *Spinlock) TryLock() bool {
	return l.word.Load() == 0 && l.word.CompareAndSwap(0, l.pid)
}

// Lock takes the lock, waiting as long as it takes: if the holder died,
// that is until the master breaks the lock.
func (l *Spinlock) Lock() {
	for i := 0; !l.TryLock(); i++ {
		switch {
		case i < lockSpins:
		case i < lockSpins+lockYields:
			runtime.Gosched()
		default:
			time.Sleep(lockSleep)
		}
	}
}

// Unlock releases the lock. It panics if this process does not hold it:
// an unlock without a lock, or a lock the master broke because it took
// this process for dead - both are bugs that would let two holders in.
func (l *Spinlock) Unlock() {
	if !l.word.CompareAndSwap(l.pid, 0) {
		panic(fmt.Sprintf("shm: unlock by pid %d of a spinlock held by pid %d", l.pid, l.word.Load()))
	}
}

// Holder is the pid that holds the lock, or 0 when it is free.
func (l *Spinlock) Holder() int { return int(l.word.Load()) }

// Break frees a lock held by dead, a process that is known to be dead:
// one its parent has reaped (wait4 returned it). It reports whether dead
// held the lock. Do not guess deadness with kill(pid, 0): a pid is reused
// once reaped, and the guess could break a live process's lock. Whatever
// the dead holder was changing is half-done: the caller repairs it.
func (l *Spinlock) Break(dead int) bool {
	return dead > 0 && l.word.CompareAndSwap(uint32(dead), 0)
}
