//go:build labref

package lab06

import (
	"fmt"
	"runtime"
	"time"
)

// This is the reference solution, built only with -tags labref so that CI
// can check the grader passes on correct code. Read it after your own.

func (l *Spinlock) TryLock() bool {
	return l.word.Load() == 0 && l.word.CompareAndSwap(0, l.pid)
}

func (l *Spinlock) Lock() {
	for i := 0; !l.TryLock(); i++ {
		switch {
		case i < 200:
		case i < 210:
			runtime.Gosched()
		default:
			time.Sleep(20 * time.Microsecond)
		}
	}
}

func (l *Spinlock) Unlock() {
	if !l.word.CompareAndSwap(l.pid, 0) {
		panic(fmt.Sprintf("lab06: unlock by pid %d of a lock held by %d", l.pid, l.word.Load()))
	}
}
