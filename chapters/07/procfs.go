package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the times in /proc/PID/stat: clock ticks of
// 1/100 s, fixed by the kernel's ABI whatever its internal HZ.
const userHZ = 100

// uptime reads /proc/uptime: the time since boot, the clock that
// /proc/PID/stat's start times count on.
func uptime() (time.Duration, error) {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0, err
	}
	sec, err := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	return time.Duration(sec * float64(time.Second)), err
}

// startTime reads when process pid started, as time since boot: field 22
// of /proc/PID/stat, counted after the command name in parentheses (which
// may hold spaces):
//
//	4242 (07) S 4241 ... 226638 ...
func startTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(fields) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: short line", pid)
	}
	ticks, err := strconv.ParseInt(fields[19], 10, 64) // field 22; fields[0] is field 3
	return time.Duration(ticks) * time.Second / userHZ, err
}
