package main

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// What the chapter reads from /proc. It shows the kernel's view of a
// process rather than the program's own idea of itself: the threads it
// really has, the fds its child really holds, the session a daemon is
// really in.

// stat is the part of /proc/PID/stat the chapter shows (proc(5)).
type stat struct {
	Pid   int
	State byte // R running, S sleeping, Z zombie...
	Ppid  int  // parent: whoever will reap it
	Pgrp  int  // process group, what a shell's job control signals
	Sid   int  // session: a login, a terminal, or a daemon's own
	TtyNr int  // controlling terminal as a device number, 0 for none
}

// readStat parses /proc/PID/stat:
//
//	4242 (02) S 4100 4100 3000 34817 ...
//
// The command name is in parentheses and may hold spaces and ')', so the
// fields are counted from the last ')'.
func readStat(pid int) (stat, error) {
	path := fmt.Sprintf("/proc/%d/stat", pid)
	b, err := os.ReadFile(path)
	if err != nil {
		return stat{}, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, fmt.Errorf("%s: no ')' in %q", path, b)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 5 || len(f[0]) != 1 {
		return stat{}, fmt.Errorf("%s: short line %q", path, b)
	}
	s := stat{Pid: pid, State: f[0][0]}
	for j, p := range []*int{&s.Ppid, &s.Pgrp, &s.Sid, &s.TtyNr} {
		if *p, err = strconv.Atoi(f[1+j]); err != nil {
			return stat{}, fmt.Errorf("%s: field %d: %w", path, 4+j, err)
		}
	}
	return s, nil
}

// ttyName names a tty_nr from /proc/PID/stat the way ps(1) does: "pts/3",
// "tty1", or "none" for a process without a controlling terminal.
func ttyName(nr int) string {
	if nr == 0 {
		return "none"
	}
	major := (nr >> 8) & 0xfff
	minor := (nr & 0xff) | ((nr >> 12) & 0xfff00)
	switch {
	case major >= 136 && major <= 143: // Unix98 pseudo-terminals
		return fmt.Sprintf("pts/%d", (major-136)*256+minor)
	case major == 4 && minor < 64:
		return fmt.Sprintf("tty%d", minor)
	}
	return fmt.Sprintf("dev %d:%d", major, minor)
}

// threadCount returns the Threads: line of /proc/PID/status.
func threadCount(pid int) (int, error) {
	path := fmt.Sprintf("/proc/%d/status", pid)
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, fmt.Errorf("%s: no Threads: line", path)
}

// threadIDs lists /proc/PID/task: one entry per thread, named by its tid.
func threadIDs(pid int) ([]int, error) {
	return numbers(fmt.Sprintf("/proc/%d/task", pid))
}

// fdEntry is one open file descriptor of a process.
type fdEntry struct {
	Fd int
	// Target is readlink(/proc/PID/fd/N): a path, or "pipe:[88121]" and
	// "socket:[88117]" where the number is the inode, the same in every
	// process that holds the same pipe or socket.
	Target string
	// Ours is the fd under which the chapter holds the same pipe or
	// socket, or -1.
	Ours int
	// What says what the fd is for, when the chapter knows.
	What string
}

// fdTable reads /proc/PID/fd, in fd order.
func fdTable(pid int) ([]fdEntry, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := numbers(dir)
	if err != nil {
		return nil, err
	}
	var out []fdEntry
	for _, fd := range fds {
		target, err := os.Readlink(fmt.Sprintf("%s/%d", dir, fd))
		if err != nil {
			continue // closed while we looked (our own ReadDir's fd, say)
		}
		out = append(out, fdEntry{Fd: fd, Target: target, Ours: -1})
	}
	return out, nil
}

// shared maps each pipe and socket this process holds to its lowest fd.
// Paths are left out: two processes that opened /dev/null each hold their
// own open file, while a pipe:[inode] seen in both is one object.
func shared() (map[string]int, error) {
	fds, err := fdTable(os.Getpid())
	if err != nil {
		return nil, err
	}
	m := map[string]int{}
	for _, e := range fds {
		if strings.HasPrefix(e.Target, "pipe:") || strings.HasPrefix(e.Target, "socket:") {
			if _, seen := m[e.Target]; !seen {
				m[e.Target] = e.Fd
			}
		}
	}
	return m, nil
}

// fdTarget is readlink(/proc/self/fd/N) for one of our own fds.
func fdTarget(fd uintptr) (string, error) {
	return os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
}

// environ reads /proc/PID/environ, the environment the process was
// started with, and keeps the variables whose names start with prefix.
func environ(pid int, prefix string) (map[string]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	for _, kv := range strings.Split(string(b), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, prefix) {
			env[k] = v
		}
	}
	return env, nil
}

// numbers lists the numeric names in dir, sorted.
func numbers(dir string) ([]int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ns []int
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			ns = append(ns, n)
		}
	}
	slices.Sort(ns)
	return ns, nil
}

// inSession lists the live processes of session sid, from /proc/*/stat.
func inSession(sid int) []int {
	pids, _ := numbers("/proc")
	var in []int
	for _, pid := range pids {
		if s, err := readStat(pid); err == nil && s.Sid == sid && s.State != 'Z' {
			in = append(in, pid)
		}
	}
	return in
}
