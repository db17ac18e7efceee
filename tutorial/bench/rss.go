package bench

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"sync"
	"time"
)

// RSS is the resident set size of pid, from VmRSS in /proc/PID/status:
// the memory of the process that is in RAM now, its share of shared pages
// included. 0 when the process is gone.
func RSS(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmRSS:")); ok {
			kb, _ := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(" kB"))), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TotalRSS is RSS summed over pids: a pool's workers.
func TotalRSS(pids []int) int64 {
	var sum int64
	for _, pid := range pids {
		sum += RSS(pid)
	}
	return sum
}

// FDs is how many descriptors pid has open, from /proc/PID/fd. A coroutine
// worker holds two per request in flight, the FastCGI connection from nginx
// and the connection to the upstream, so the count above its idle one says
// how many requests it holds.
func FDs(pid int) int {
	entries, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return 0
	}
	return len(entries)
}

// Sample is a worker's RSS and open descriptors at one instant.
type Sample struct {
	RSS int64
	FDs int
}

// Sampler reads each worker's RSS and descriptors every interval while a
// run goes on, and keeps, per worker, the sample of highest RSS: memory at
// the peak of requests in flight, which a reading after the run misses.
type Sampler struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	peak map[int]Sample
}

// StartSampler samples the processes that pids lists, every interval,
// until Stop. pids is called each time, so that a worker replaced during
// the run is followed.
func StartSampler(pids func() []int, interval time.Duration) *Sampler {
	s := &Sampler{stop: make(chan struct{}), done: make(chan struct{}), peak: map[int]Sample{}}
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			for _, pid := range pids() {
				now := Sample{RSS: RSS(pid), FDs: FDs(pid)}
				s.mu.Lock()
				if now.RSS > s.peak[pid].RSS {
					s.peak[pid] = now
				}
				s.mu.Unlock()
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Stop ends the sampling and returns each worker's peak sample.
func (s *Sampler) Stop() map[int]Sample {
	close(s.stop)
	<-s.done
	return s.peak
}

// PeakTotal is the sum of the workers' peak RSS: an upper bound of the
// pool's memory at its busiest, each worker taken at its own peak.
func PeakTotal(peak map[int]Sample) int64 {
	var sum int64
	for _, p := range peak {
		sum += p.RSS
	}
	return sum
}

// MiB spells n bytes in MiB with one decimal, as the tables show memory.
func MiB(n int64) string {
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
}
