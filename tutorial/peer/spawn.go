package peer

import (
	"os/exec"
	"runtime"
	"sync"
)

// The kernel sends a child its parent-death signal (Pdeathsig) when the
// thread that forked it exits, not when the process does. The Go runtime
// ends a thread when a goroutine that called runtime.LockOSThread returns
// without unlocking, so a child started from an arbitrary goroutine could be
// signalled in the middle of a test. Starting every such child from one
// goroutine locked to its thread for the life of the process makes the
// signal mean what we want: "the test binary is gone".
var (
	spawnOnce sync.Once
	spawnReqs chan func()
)

// startOnLockedThread runs cmd.Start on the spawner thread.
func startOnLockedThread(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnReqs = make(chan func())
		go func() {
			runtime.LockOSThread() // never unlocked: the thread must not exit
			for f := range spawnReqs {
				f()
			}
		}()
	})
	errc := make(chan error, 1)
	spawnReqs <- func() { errc <- cmd.Start() }
	return <-errc
}
