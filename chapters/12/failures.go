package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/corofpm/corofpm/coro"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

// failures shows a panic that ends one coroutine only, then a deadlock
// that Run reports instead of hanging.
func failures(n *narrator.Narrator) (*coro.PanicError, *coro.DeadlockError, error) {
	var panicked *coro.PanicError
	s := coro.New(coro.Options{OnPanic: func(e *coro.PanicError) { panicked = e }})
	survived := false
	err := s.Run(func(c *coro.Co) {
		c.Go(func(c *coro.Co) {
			c.Sleep(time.Millisecond)
			var m map[string]int
			m["boom"]++ // a nil map: the runtime panics
		})
		c.Go(func(c *coro.Co) { c.Sleep(2 * time.Millisecond); survived = true })
	})
	if err != nil {
		return nil, nil, err
	}
	if panicked == nil || !survived {
		return nil, nil, fmt.Errorf("want a panic in one coroutine and the other to survive: panic %v, survived %v", panicked, survived)
	}
	n.Say("%v", panicked)
	n.Say("where: %s", panicSite(panicked.Stack))
	n.Say("the other coroutine ran to its end: a panic ends its own coroutine only (%d panic in Stats)", s.Stats().Panics)

	// ANCHOR: deadlock
	err = coro.New(coro.Options{}).Run(func(c *coro.Co) {
		ping, pong := coro.NewChan[int](0), coro.NewChan[int](0)
		c.Go(func(c *coro.Co) { v, _ := ping.Pop(c, coro.Forever); pong.Push(c, v, coro.Forever) })
		pong.Pop(c, coro.Forever) // waits for a pong nobody will send: ping was never pushed
	})
	// ANCHOR_END: deadlock
	var dead *coro.DeadlockError
	if !errors.As(err, &dead) {
		return panicked, nil, fmt.Errorf("want a deadlock report, got %v", err)
	}
	n.Say("%v", dead)
	n.Detail("%s", dead.Report())
	return panicked, dead, nil
}

// panicSite finds the frame that panicked in a panic's stack, the first
// after panic( that is not the runtime's: its function and file:line,
// without the machine's paths.
func panicSite(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	seen := false
	for i := 0; i+1 < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.HasPrefix(l, "panic("):
			seen = true
		case seen && !strings.HasPrefix(l, "\t") && !strings.HasPrefix(l, "runtime."):
			file := strings.Fields(strings.TrimSpace(lines[i+1]))[0]
			fn := strings.SplitN(l, "(", 2)[0]
			return fn[strings.LastIndex(fn, "/")+1:] + " at " + filepath.Base(file)
		}
	}
	return "(not found in the stack)"
}
