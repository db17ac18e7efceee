package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/corofpm/corofpm/fpm/script"
	"github.com/corofpm/corofpm/net/fastcgi"
	"github.com/corofpm/corofpm/tutorial/fpmrun"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/corofpm/corofpm/tutorial/peer"
	"golang.org/x/sys/unix"
)

// scripts are the FPM's scripts in this chapter: the default ones and
// /crash.php.
func scripts() *script.Table {
	t := script.Default(script.Blocking{}, "")
	t.Handle("/crash.php", crash)
	return t
}

// ANCHOR: crash
// crash is /crash.php: a worker dying of SIGSEGV, as a PHP worker does
// when a C extension follows a bad pointer. A Go program cannot die so by
// itself: its runtime catches SIGSEGV and turns it into a panic and exit
// code 2. So the script first gives SIGSEGV back its default action, with
// rt_sigaction(2) behind the runtime's back, then touches a page it mapped
// without access: the kernel kills the process. Core dumps are turned off
// first, so that nothing is left behind.
func crash(w *fastcgi.Response, r *script.Request) {
	unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
	var dfl [4]uint64 // a struct sigaction of zeros: SIG_DFL, no flags
	unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGSEGV), uintptr(unsafe.Pointer(&dfl)), 0, 8, 0, 0)
	page, err := unix.Mmap(-1, 0, os.Getpagesize(), unix.PROT_NONE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		w.WriteHeader(500)
		w.WriteString("cannot map a page\n")
		return
	}
	page[0] = 1 // SIGSEGV
}

// ANCHOR_END: crash

// ANCHOR: emergency
// emergencyConf is php-fpm.conf with emergency restart on: 3 workers dead
// of SIGSEGV or SIGBUS within a minute reload the whole FPM.
const emergencyConf = `[global]
pid = fpm.pid
error_log = fpm.log
emergency_restart_threshold = 3
emergency_restart_interval = 1m

[www]
listen = %s
pm = static
pm.max_children = 2
access.log = access.log
access.format = "%%p"
`

// ANCHOR_END: emergency

// crashResult is what step 6 measured.
type crashResult struct {
	// Killed is the worker sent kill -SEGV from outside, and Outside the
	// master's line about its end.
	Killed  int
	Outside string
	// Log is the master's lines from the first crash to the reload.
	Log []string
	// Crashes counts the workers that died of SIGSEGV.
	Crashes int
	// Reloaded: the master logged the threshold and served again, on the
	// same pid, with new workers.
	Reloaded      bool
	Master        int
	Before, After []int
}

// measureCrash kills one worker with SIGSEGV from outside, then makes
// three crash for real, and watches the master.
func measureCrash(dir string) (res crashResult, err error) {
	fdir, err := subdir(dir, "fpm-crash")
	if err != nil {
		return res, err
	}
	port, err := peer.FreePort()
	if err != nil {
		return res, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	f, err := fpmrun.StartConf(fdir, fmt.Sprintf(emergencyConf, addr), addr, nil)
	if err != nil {
		return res, err
	}
	defer f.Stop(10 * time.Second)
	res.Master = f.Master.Pid
	if res.Before, err = f.Workers(); err != nil || len(res.Before) == 0 {
		return res, fmt.Errorf("no workers (%v)", err)
	}
	// The worker to kill is one that has served a request: a process
	// still starting has no Go signal handler yet, and dies of SIGSEGV.
	if res.Killed, err = servedBy(f); err != nil {
		return res, err
	}
	if err := syscall.Kill(res.Killed, syscall.SIGSEGV); err != nil {
		return res, err
	}
	if res.Outside, err = f.WaitLog(fmt.Sprintf("child %d exited", res.Killed), 10*time.Second); err != nil {
		return res, err
	}
	for range 3 {
		f.Get("/crash.php", "") // the connection closes without an answer
		if _, err := f.WaitLog("(SIGSEGV)", 10*time.Second); err != nil {
			return res, err
		}
		res.Crashes++
	}
	if _, err := f.WaitLog("ready to handle connections", 10*time.Second); err != nil {
		return res, err
	}
	if _, err := f.Get("/hello.php", ""); err != nil {
		return res, err
	}
	if res.After, err = f.Workers(); err != nil {
		return res, err
	}
	_, exited, _ := f.Master.TryWait()
	res.Reloaded = !exited && strings.Contains(f.LogText(), "failed processes threshold")
	_, log, _ := strings.Cut(f.LogText(), res.Outside+"\n")
	res.Log = logLines(log, "SIGSEGV", "threshold", "reloading", "running", "inherited", "ready")
	return res, nil
}

// servedBy sends one request and returns the pid of the worker that
// served it, from the access log's %p.
func servedBy(f *fpmrun.FPM) (int, error) {
	if _, err := f.Get("/hello.php", ""); err != nil {
		return 0, err
	}
	for range 100 { // the line is written just after the answer
		b, _ := os.ReadFile(filepath.Join(f.Dir, "access.log"))
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			return pid, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0, errors.New("no line in the access log")
}

func showCrash(n *narrator.Narrator, r crashResult) {
	n.Say("a static pool of 2 under")
	for _, line := range strings.Split(emergencyConf, "\n")[3:5] {
		n.Say("  %s", line)
	}
	n.Say("kill -SEGV %d, from outside: the master logs", r.Killed)
	n.Say("  %s", r.Outside)
	n.Say("a Go worker catches SIGSEGV (its runtime's handler), and a SIGSEGV sent by kill(2)")
	n.Say("is no fault of its own: the runtime prints the signal and exits with code 2. The")
	n.Say("master counts only deaths by SIGSEGV or SIGBUS, as php-fpm does, so this one is not a crash.")
	n.Say("/crash.php dies of a real segmentation fault (see the docs); three requests for it:")
	for _, line := range r.Log {
		n.Say("  %s", line)
	}
	n.Say("master pid %d before and after (it exec'd itself); workers %v, then %v", r.Master, r.Before, r.After)
}
