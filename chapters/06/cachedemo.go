package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/corofpm/corofpm/fpm/cache"
	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/fpm/shm"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

// cacheConfig sizes the cache of step 5: small, as the demo needs little.
var cacheConfig = cache.Config{Entries: 256, MaxKey: 32, MaxValue: 64}

// cacheResult is what step 5 counted.
type cacheResult struct {
	Workers, Increments int
	// Counter is the shared counter's final value; CrossReads how many
	// greetings a worker found that another had stored.
	Counter, CrossReads int64
	Info                cache.Info
}

// ANCHOR: cache-worker
// cacheWorkerMain is a worker of step 5 with the cache's memfd as fd 3.
// It stores a greeting, waits until every worker has (the cache is the
// meeting point), increments the shared counter, reads the others'
// greetings, and misses once on purpose.
func cacheWorkerMain(c *proc.Child) error {
	if len(c.Args) != 3 || len(c.Files) != 1 {
		return fmt.Errorf("want the worker's number, the number of workers, the increments and the segment")
	}
	me, _ := strconv.Atoi(c.Args[0])
	workers, _ := strconv.Atoi(c.Args[1])
	k, _ := strconv.Atoi(c.Args[2])
	seg, err := shm.Open(c.Files[0])
	if err != nil {
		return err
	}
	defer seg.Close()
	apc, err := cache.Attach(seg)
	if err != nil {
		return err
	}
	greeting := fmt.Sprintf("stored by worker %d, pid %d", me, os.Getpid())
	if err := apc.Store(fmt.Sprint("greeting-", me), []byte(greeting), 0); err != nil {
		return err
	}
	if _, err := apc.Inc("ready", 1); err != nil {
		return err
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if v, _ := apc.Fetch("ready"); string(v) == strconv.Itoa(workers) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the other workers did not show up in 10 s")
		}
	}
	for range k {
		if _, err := apc.Inc("counter", 1); err != nil {
			return err
		}
	}
	for other := range workers {
		v, ok := apc.Fetch(fmt.Sprint("greeting-", other))
		if other == me || !ok {
			continue
		}
		apc.Inc("cross-reads", 1)
		if other == (me+1)%workers {
			fmt.Printf("read greeting-%d: %q\n", other, v)
		}
	}
	apc.Fetch("nobody-stored-this")
	return nil
}

// ANCHOR_END: cache-worker

// sharedCache runs step 5.
func sharedCache(n *narrator.Narrator, cfg settings) (res cacheResult, err error) {
	res.Workers, res.Increments = cfg.workers, cfg.cacheIncs
	seg, err := shm.Create("apcu", cache.Size(cacheConfig))
	if err != nil {
		return res, err
	}
	defer seg.Close()
	apc, err := cache.New(seg, cacheConfig)
	if err != nil {
		return res, err
	}
	n.Say("a %d-byte memfd holds a table of %d entries (keys up to %d bytes, values up to %d), one spinlock for all",
		len(seg.Bytes), cacheConfig.Entries, cacheConfig.MaxKey, cacheConfig.MaxValue)
	n.Say("each worker: Store its greeting, Inc \"ready\" and wait for all, Inc \"counter\" %d times, Fetch the others' greetings", cfg.cacheIncs)
	var ps []*proc.Process
	defer func() {
		for _, p := range ps {
			p.Wait()
		}
	}()
	for i := range cfg.workers {
		p, err := proc.Start(proc.Spec{
			Role:   "cache-worker",
			Args:   []string{strconv.Itoa(i), strconv.Itoa(cfg.workers), strconv.Itoa(cfg.cacheIncs)},
			Files:  []*os.File{seg.File()},
			Output: func(pid int) io.Writer { return n.Tagged("worker", pid) },
		})
		if err != nil {
			return res, err
		}
		ps = append(ps, p)
	}
	for _, p := range ps {
		st, err := p.Wait()
		if err != nil {
			return res, err
		}
		if !st.Exited || st.Code != 0 {
			return res, fmt.Errorf("cache worker %d %s", p.Pid, st)
		}
	}
	res.Counter = number(apc, "counter")
	res.CrossReads = number(apc, "cross-reads")
	res.Info = apc.Info()
	w := int64(cfg.workers)
	t := n.Table("key", "value", "expected")
	t.Row("counter", res.Counter, w*int64(cfg.cacheIncs))
	t.Row("cross-reads", res.CrossReads, w*(w-1))
	t.Print()
	i := res.Info
	n.Say("apcu_cache_info, as it were: %d entries of %d, %d hits, %d misses, %d bytes of keys and values in a %d-byte segment",
		i.Entries, i.Capacity, i.Hits, i.Misses, i.Used, i.Size)
	n.Say("the misses: the first Inc of each of the 3 counters, and each worker's Fetch of a key nobody stored")
	return res, nil
}

// number reads a counter the workers left in the cache.
func number(apc *cache.Cache, key string) int64 {
	v, _ := apc.Fetch(key)
	x, _ := strconv.ParseInt(string(v), 10, 64)
	return x
}
