package coro

import (
	"iter"
	"runtime"
	"sync"
	"testing"
)

// The three ways to hand one thread of control back and forth between two
// goroutines, so that only one runs at a time. Each op is one round trip:
// a switch in and a switch back. The runtime's coroutine switch (iter.Pull)
// is what coro is built on; these benchmarks are why.

func BenchmarkHandoff(b *testing.B) {
	b.Run("iter.Pull", func(b *testing.B) {
		next, stop := iter.Pull(func(yield func(struct{}) bool) {
			for yield(struct{}{}) {
			}
		})
		defer stop()
		for b.Loop() {
			next()
		}
	})
	b.Run("chan", func(b *testing.B) {
		in, out := make(chan struct{}), make(chan struct{})
		go func() {
			for range in {
				out <- struct{}{}
			}
		}()
		defer close(in)
		for b.Loop() {
			in <- struct{}{}
			<-out
		}
	})
	b.Run("sync.Cond", func(b *testing.B) {
		var mu sync.Mutex
		cond := sync.NewCond(&mu)
		turn, done := 0, false // 0: the benchmark's turn, 1: the other's
		go func() {
			mu.Lock()
			defer mu.Unlock()
			for !done {
				for turn != 1 && !done {
					cond.Wait()
				}
				turn = 0
				cond.Broadcast()
			}
		}()
		for b.Loop() {
			mu.Lock()
			turn = 1
			cond.Broadcast()
			for turn != 0 {
				cond.Wait()
			}
			mu.Unlock()
		}
		mu.Lock()
		done = true
		cond.Broadcast()
		mu.Unlock()
	})
}

// BenchmarkSwitch is a Yield/Resume round trip through the scheduler.
func BenchmarkSwitch(b *testing.B) {
	New(Options{}).Run(func(c *Co) {
		child, _ := c.Go(func(c *Co) {
			for c.Yield() == nil {
			}
		})
		for b.Loop() {
			c.Resume(child.ID())
		}
		child.Cancel(nil)
	})
}

// BenchmarkGoExit creates a coroutine that returns at once.
func BenchmarkGoExit(b *testing.B) {
	New(Options{}).Run(func(c *Co) {
		for b.Loop() {
			c.Go(func(*Co) {})
		}
	})
}

// BenchmarkChanPingPong is one value there and one back between two
// coroutines over two channels of capacity 1.
func BenchmarkChanPingPong(b *testing.B) {
	New(Options{}).Run(func(c *Co) {
		ping, pong := NewChan[int](1), NewChan[int](1)
		c.Go(func(c *Co) {
			for {
				v, err := ping.Pop(c, Forever)
				if err != nil {
					return
				}
				pong.Push(c, v, Forever)
			}
		})
		for i := 0; b.Loop(); i++ {
			ping.Push(c, i, Forever)
			pong.Pop(c, Forever)
		}
		ping.Close()
	})
}

// BenchmarkMemory holds 100,000 suspended coroutines and reports what
// each costs: its goroutine's stack and the scheduler's bookkeeping.
func BenchmarkMemory(b *testing.B) {
	const n = 100000
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		New(Options{MaxCoroutines: n + 1}).Run(func(c *Co) {
			ids := make([]int64, 0, n)
			for range n {
				child, _ := c.Go(func(c *Co) { c.Yield() })
				ids = append(ids, child.ID())
			}
			runtime.ReadMemStats(&after)
			for _, id := range ids {
				c.Resume(id)
			}
		})
		used := (after.HeapInuse + after.StackInuse) - (before.HeapInuse + before.StackInuse)
		b.ReportMetric(float64(used)/n, "bytes/coroutine")
	}
}
