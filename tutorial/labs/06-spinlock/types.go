// Package lab06 is the lab of chapter 06: the scoreboard's spinlock, a
// lock that processes take in turn through one word of shared memory.
// The declarations in this file are given; the methods to write are in
// lab.go.
package lab06

import (
	"os"
	"sync/atomic"
)

// Spinlock is a lock in one 32-bit word of shared memory (a memfd every
// worker maps): 0 when free, else the pid of the process that holds it,
// so that a master can see a dead worker's lock and break it.
type Spinlock struct {
	// word is in the shared mapping; every process that locks must use
	// atomic operations on it, never a plain load or store.
	word *atomic.Uint32
	// pid is this process's pid, what it writes to take the lock.
	pid uint32
}

// New is the lock whose word is at word; zeroed memory is a free lock.
func New(word *atomic.Uint32) *Spinlock {
	return &Spinlock{word: word, pid: uint32(os.Getpid())}
}

// Holder is the pid that holds the lock, or 0 when it is free.
func (l *Spinlock) Holder() int { return int(l.word.Load()) }
