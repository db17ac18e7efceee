package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// threadSample is what the kernel says about one thread, read from
// /proc/PID/task/TID: the figures a round compares before and after.
type threadSample struct {
	// Sleeps is voluntary_ctxt_switches: how many times the thread gave up
	// the CPU to wait. A thread sleeping in epoll_wait or accept that is
	// woken, for a connection or for nothing, and sleeps again adds one,
	// even when the kernel puts it back to sleep without returning to user
	// space. So over a round it counts the thread's wake-ups.
	Sleeps int64
	// CPU is the thread's time on a CPU so far, from schedstat, in
	// nanoseconds: unlike utime and stime it is not rounded to clock ticks.
	CPU time.Duration
}

// taskPath is the /proc directory of thread tid of process pid.
func taskPath(pid, tid int) string {
	return fmt.Sprintf("/proc/%d/task/%d/", pid, tid)
}

// sampleThread reads a thread's sleeps and CPU time. The status file has
// a line
//
//	voluntary_ctxt_switches:	1204
//
// and schedstat is "TIME_ON_CPU_NS TIME_WAITING_NS TIMESLICES".
func sampleThread(pid, tid int) (threadSample, error) {
	var s threadSample
	status, err := os.ReadFile(taskPath(pid, tid) + "status")
	if err != nil {
		return s, err
	}
	const key = "\nvoluntary_ctxt_switches:"
	i := bytes.Index(status, []byte(key))
	if i < 0 {
		return s, fmt.Errorf("no voluntary_ctxt_switches in %sstatus", taskPath(pid, tid))
	}
	line, _, _ := bytes.Cut(status[i+len(key):], []byte("\n"))
	if s.Sleeps, err = strconv.ParseInt(string(bytes.TrimSpace(line)), 10, 64); err != nil {
		return s, err
	}
	sched, err := os.ReadFile(taskPath(pid, tid) + "schedstat")
	if err != nil {
		return s, err
	}
	ns, _, _ := bytes.Cut(bytes.TrimSpace(sched), []byte(" "))
	cpu, err := strconv.ParseInt(string(ns), 10, 64)
	s.CPU = time.Duration(cpu)
	return s, err
}

// threadState returns a thread's state letter from its stat line:
//
//	4242 (chapter04) S 4241 ...
//
// R is running or runnable, S asleep in an interruptible wait such as
// accept(2), epoll_wait(2) or a lock. A wake-up makes a thread R at once,
// before it runs, so "every waiter is S" means every woken waiter has
// gone back to sleep.
func threadState(pid, tid int) (byte, error) {
	stat, err := os.ReadFile(taskPath(pid, tid) + "stat")
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(stat, ')') // the name may contain spaces and ')'
	if i < 0 || i+2 >= len(stat) {
		return 0, fmt.Errorf("malformed %sstat", taskPath(pid, tid))
	}
	return stat[i+2], nil
}
