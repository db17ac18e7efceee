//go:build !labref

package lab06

// TryLock takes the lock if it is free and reports whether it did. It
// never waits.
func (l *Spinlock) TryLock() bool {
	// TODO(lab): the lock is free when the word is 0. Take it by
	// swapping 0 for l.pid in one atomic step: l.word.CompareAndSwap(0,
	// l.pid) fails if another process took it in between, which a Load
	// then a Store would not notice. Load first and try the swap only
	// when the word is 0: a failed swap takes the cache line exclusive,
	// and waiters hammering it slow down the holder.
	return false
}

// Lock takes the lock, waiting as long as it takes.
func (l *Spinlock) Lock() {
	// TODO(lab): call TryLock until it succeeds. Spin a few hundred times
	// first (the holder runs on another CPU and is about to let go); then
	// runtime.Gosched() for a few more tries (the holder may be a
	// goroutine of this process waiting for our thread); then
	// time.Sleep(20 * time.Microsecond) between tries, to give the CPU to
	// a holder in another process.
}

// Unlock releases the lock. It panics if this process does not hold it:
// an Unlock without a Lock would free another process's lock and let two
// holders in.
func (l *Spinlock) Unlock() {
	// TODO(lab): swap l.pid for 0 in one atomic step
	// (l.word.CompareAndSwap(l.pid, 0)); if the word was not our pid,
	// panic with a message naming our pid and the holder's.
}
