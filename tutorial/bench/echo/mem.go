package echo

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// RSS is the resident memory of process pid, in bytes: VmRSS in
// /proc/PID/status, the pages of its own that are in RAM. A socket's
// buffers are kernel memory and do not count in it, which is what the
// idle-memory target asks: what a connection costs beyond them.
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(" kB"))), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("echo: no VmRSS for pid %d", pid)
}

// OpenFDs is how many fds process pid has open: a server's listener, its
// epoll instance and such, plus one per connection it has accepted.
func OpenFDs(pid int) (int, error) {
	entries, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	return len(entries), err
}
