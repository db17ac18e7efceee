package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"golang.org/x/sys/unix"
)

// fuse is how long the chapter's daemon lives at most. A real daemon runs
// until it is told to stop; this one also stops by itself, so that it
// cannot outlive a chapter that was killed before it could stop it.
const fuse = 30 * time.Second

// daemonSeen is what step 5 measured.
type daemonSeen struct {
	Chapter  stat        // this process, for comparison
	Detacher int         // the first re-exec, the session's leader
	Daemon   stat        // the second re-exec, seen from /proc while it ran
	PidFile  string      // where it wrote its pid
	Log      []string    // its log, read after it stopped
	Status   proc.Status // how it ended after SIGTERM
	Gone     bool        // kill(pid, 0) said ESRCH afterwards
	FileGone bool        // it removed its pid file on the way out
}

// ANCHOR: detach
// detach is the first re-exec. proc.Start ran it with Spec.Detach, which
// made it the leader of a new session (setsid): no controlling terminal,
// stdio on /dev/null, and no lifeline, so nothing ties it to the chapter.
// A session leader can still acquire a terminal by opening one, so it
// starts the daemon itself, the second re-exec, by hand: in this session
// (no setsid: the daemon leads nothing), with no lifeline, stdio on
// /dev/null and "/" as its directory, so that it holds no mount busy.
// Then it exits, and the daemon, orphaned, is re-parented.
func detach(c *proc.Child) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer null.Close()
	fd := null.Fd()
	env := append(os.Environ(), proc.EnvRole+"=daemon", proc.EnvFiles+"=0")
	_, err = syscall.ForkExec(self, append([]string{self}, c.Args...), &syscall.ProcAttr{
		Dir: "/", Env: env, Files: []uintptr{fd, fd, fd},
	})
	return err
}

// runDaemon is the daemon: it writes its pid file, logs to a file (its
// stdio goes nowhere), and waits for SIGTERM, when it removes the pid file
// and exits 0.
func runDaemon(c *proc.Child) error {
	if len(c.Args) != 1 {
		return fmt.Errorf("want a directory for the pid file and the log, got %q", c.Args)
	}
	unix.Umask(0o022) // what it creates does not depend on who started it
	log, err := os.OpenFile(filepath.Join(c.Args[0], "daemon.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM) // before the pid file invites a kill
	pidFile := filepath.Join(c.Args[0], "daemon.pid")
	if err := writePidFile(pidFile); err != nil {
		fmt.Fprintln(log, err)
		return err
	}
	defer os.Remove(pidFile)
	sid, _ := unix.Getsid(0)
	fmt.Fprintf(log, "pid %d, session %d: started, pid file %s\n", os.Getpid(), sid, pidFile)
	select {
	case s := <-term:
		fmt.Fprintf(log, "%v: removing the pid file, exiting\n", s)
	case <-time.After(fuse):
		fmt.Fprintf(log, "nobody stopped me within %s: exiting\n", fuse)
	}
	return nil
}

// ANCHOR_END: detach

// writePidFile writes the pid to a temporary name and renames it into
// place, so that a reader never sees a half-written number.
func writePidFile(path string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// readPidFile reads a pid file, waiting up to timeout for it to appear.
func readPidFile(path string, timeout time.Duration) (int, error) {
	for end := time.Now().Add(timeout); ; time.Sleep(5 * time.Millisecond) {
		b, err := os.ReadFile(path)
		if err == nil {
			return strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if !errors.Is(err, os.ErrNotExist) || time.Now().After(end) {
			return 0, err
		}
	}
}

// showDaemon daemonizes a child, shows where it landed, then stops it the
// way an init script does: SIGTERM to the pid in the pid file.
func showDaemon(n *narrator.Narrator) (d daemonSeen, err error) {
	dir, err := os.MkdirTemp("", "corofpm-02-daemon-")
	if err != nil {
		return d, err
	}
	defer os.RemoveAll(dir)
	d.PidFile = filepath.Join(dir, "daemon.pid")
	if d.Chapter, err = readStat(os.Getpid()); err != nil {
		return d, err
	}
	// An orphan goes to the nearest ancestor that is a "child subreaper",
	// else to init. The chapter makes itself one for this step, as systemd
	// and tini are, so that it can reap the daemon it stops and prove it
	// gone; pid 1 of a container may never reap it.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return d, fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %w", err)
	}
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)

	det, err := proc.Start(proc.Spec{Role: "detacher", Args: []string{dir}, Detach: true})
	if err != nil {
		return d, err
	}
	d.Detacher = det.Pid
	// Whatever happens below, nothing of the detacher's session survives
	// the step: the daemon is our child now, so we can kill and reap it.
	defer endSession(d.Detacher)
	st, err := det.Wait()
	if err != nil {
		return d, err
	}
	if !st.Exited || st.Code != 0 {
		return d, fmt.Errorf("detacher %d %v", det.Pid, st)
	}
	pid, err := readPidFile(d.PidFile, 5*time.Second)
	if err != nil {
		return d, fmt.Errorf("the daemon's pid file: %w", err)
	}
	if d.Daemon, err = readStat(pid); err != nil {
		return d, err
	}
	showSessions(n, d)
	return d, stopDaemon(n, &d)
}

// showSessions prints the chapter and its daemon side by side.
func showSessions(n *narrator.Narrator, d daemonSeen) {
	n.Say("detacher %d: started with setsid by proc.Start (Spec.Detach), started the daemon, exited 0", d.Detacher)
	t := n.Table("process (/proc/PID/stat)", "pid", "ppid", "pgrp", "sid", "tty")
	for _, p := range []struct {
		name string
		s    stat
	}{{"this chapter", d.Chapter}, {"the daemon", d.Daemon}} {
		t.Row(p.name, p.s.Pid, p.s.Ppid, p.s.Pgrp, p.s.Sid, ttyName(p.s.TtyNr))
	}
	t.Print()
	n.Say(`the daemon is in session %d, the detacher's, which it does not lead (sid != pid),
so it can never acquire a controlling terminal; its parent, the detacher, is
gone, and the kernel gave it to the nearest subreaper: pid %d, this chapter
for the length of this step (without one, init, pid 1).`, d.Daemon.Sid, d.Daemon.Ppid)
}

// ANCHOR: stop-daemon
// stopDaemon does what "kill $(cat daemon.pid)" does, then checks the
// result: the process is gone and so is its pid file.
func stopDaemon(n *narrator.Narrator, d *daemonSeen) error {
	pid, err := readPidFile(d.PidFile, 0)
	if err != nil {
		return err
	}
	n.Say("kill -TERM $(cat %s)    # pid %d", filepath.Base(d.PidFile), pid)
	if err := unix.Kill(pid, unix.SIGTERM); err != nil {
		return fmt.Errorf("kill %d: %w", pid, err)
	}
	if d.Status, err = reapWithin(pid, 5*time.Second); err != nil {
		return err
	}
	d.Gone = unix.Kill(pid, 0) == unix.ESRCH
	_, err = os.Stat(d.PidFile)
	d.FileGone = errors.Is(err, os.ErrNotExist)
	// ANCHOR_END: stop-daemon
	log, _ := os.ReadFile(filepath.Join(filepath.Dir(d.PidFile), "daemon.log"))
	d.Log = strings.Split(strings.TrimSpace(string(log)), "\n")
	w := n.Tagged("daemon.log", 0)
	for _, line := range d.Log {
		fmt.Fprintln(w, line)
	}
	n.Say("daemon %d %v; kill(%d, 0): %s; pid file: %s", pid, d.Status, pid,
		map[bool]string{true: "no such process", false: "still there"}[d.Gone],
		map[bool]string{true: "removed", false: "still there"}[d.FileGone])
	return nil
}

// reapWithin waits for a child of ours to exit and reaps it, or kills it
// with SIGKILL when timeout passes. wait4 itself cannot time out, so this
// polls with WNOHANG.
func reapWithin(pid int, timeout time.Duration) (proc.Status, error) {
	p := proc.Adopt(pid, "daemon") // the detacher's orphan, now our child
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if st, done, err := p.TryWait(); err != nil || done {
			return st, err
		}
	}
	p.Signal(syscall.SIGKILL)
	p.Wait()
	return proc.Status{}, fmt.Errorf("daemon %d did not stop within %s of SIGTERM; killed", pid, timeout)
}

// endSession kills and reaps whatever is left of session sid among our
// children: after a failure half-way, the daemon.
func endSession(sid int) {
	for _, pid := range inSession(sid) {
		if s, err := readStat(pid); err == nil && s.Ppid == os.Getpid() {
			p := proc.Adopt(pid, "daemon")
			p.Signal(syscall.SIGKILL)
			p.Wait()
		}
	}
}
