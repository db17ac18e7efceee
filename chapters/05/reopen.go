package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/corofpm/corofpm/tutorial/narrator"
)

// reopenResult is what step 4 saw.
type reopenResult struct {
	// OldLast is the last line of the rotated file, FirstLine the first of
	// the file the master opened again.
	OldLast, FirstLine string
	Before, After      []int
}

// ANCHOR: rotate
// rotate is what logrotate does: rename the log, then tell the master. The
// master still writes to the renamed file (its fd follows the inode, not
// the name) until SIGUSR1 makes it open the path again, which creates a new
// file; the workers, which hold their own log files, are replaced.
func rotate(s *stack) error {
	if err := os.Rename(s.fpm.Log, s.fpm.Log+".1"); err != nil {
		return err
	}
	return s.fpm.Signal(syscall.SIGUSR1)
}

// ANCHOR_END: rotate

func reopenStep(n *narrator.Narrator, s *stack) (res reopenResult, err error) {
	if res.Before, err = idleWorkers(s, 4); err != nil {
		return res, err
	}
	log := filepath.Base(s.fpm.Log)
	n.Say("mv %s %s.1; kill -USR1 %d", log, log, s.fpm.Master.Pid)
	if err := rotate(s); err != nil {
		return res, err
	}
	if _, err := s.fpm.WaitLog("error log file re-opened", 5*time.Second); err != nil {
		return res, err
	}
	if _, err := waitFor(10*time.Second, "4 new workers", func() bool {
		pids, _ := s.fpm.Workers()
		return len(pids) == 4 && !slices.ContainsFunc(pids, func(pid int) bool { return slices.Contains(res.Before, pid) })
	}); err != nil {
		return res, err
	}
	if res.After, err = idleWorkers(s, 4); err != nil {
		return res, err
	}
	old, err := os.ReadFile(s.fpm.Log + ".1")
	if err != nil {
		return res, err
	}
	lines := strings.Split(strings.TrimSpace(string(old)), "\n")
	res.OldLast = lines[len(lines)-1]
	res.FirstLine, _, _ = strings.Cut(s.fpm.LogText(), "\n")
	t := n.Table("file", "line")
	t.Row(log+".1, last", res.OldLast)
	t.Row(log+", first", res.FirstLine)
	t.Print()
	n.Say("workers before %v, after %v: recycled gracefully, so that each opens the access log and slowlog anew", res.Before, res.After)
	return res, nil
}
