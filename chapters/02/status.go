package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"golang.org/x/sys/unix"
)

// ending is one child of step 3 and how it ended.
type ending struct {
	What   string         // what the chapter did to it
	Signal syscall.Signal // what the chapter sent it, 0 for none
	Burn   time.Duration  // the CPU a spinner was asked to use
	Status proc.Status    // what wait4 said
}

// endings are step 3's children: two that exit by themselves with a code,
// and sleepers that the chapter ends with a signal.
var endings = []struct {
	what   string
	role   string
	code   int           // a spinner's exit code
	burn   time.Duration // a spinner's CPU time
	env    []string
	signal syscall.Signal
}{
	{what: "exit(0) after 40ms of CPU", role: "spinner", code: 0, burn: 40 * time.Millisecond},
	{what: "exit(3) after 80ms of CPU", role: "spinner", code: 3, burn: 80 * time.Millisecond},
	{what: "kill -TERM", role: "sleeper", signal: syscall.SIGTERM},
	{what: "kill -KILL", role: "sleeper", signal: syscall.SIGKILL},
	{what: "kill -QUIT", role: "sleeper", signal: syscall.SIGQUIT},
	{what: "kill -QUIT, GOTRACEBACK=crash", role: "sleeper", env: []string{"GOTRACEBACK=crash"}, signal: syscall.SIGQUIT},
}

// showEndings starts every child of the table at once, signals the
// sleepers once they are ready, reaps each with wait4 and prints what
// its status says.
func showEndings(n *narrator.Narrator) (out []ending, err error) {
	dir, err := os.MkdirTemp("", "corofpm-02-cores-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	rp, err := newReadyPipe()
	if err != nil {
		return nil, err
	}
	defer rp.close()
	var kids []*proc.Process
	defer func() { killAll(kids) }()
	sleepers := 0
	for _, e := range endings {
		spec := proc.Spec{Role: e.role, Env: e.env, Output: detailed(n, e.role)}
		switch e.role {
		case "spinner":
			spec.Args = []string{strconv.Itoa(e.code), e.burn.String()}
		case "sleeper":
			spec.Args = []string{dir}
			spec.Files = []*os.File{rp.w}
			sleepers++
		}
		p, err := proc.Start(spec)
		if err != nil {
			return nil, err
		}
		kids = append(kids, p)
	}
	// Until its role runs, a child's runtime has not installed its signal
	// handlers, and SIGQUIT would meet the kernel's default instead.
	if err := rp.wait(sleepers, 5*time.Second); err != nil {
		return nil, err
	}
	for i, e := range endings {
		if e.signal != 0 {
			kids[i].Signal(e.signal)
		}
	}
	// ANCHOR: wait-status
	t := n.Table("pid", "what happened", "wait4 status", "WIFEXITED", "code", "signal", "core", "user CPU", "sys CPU")
	for i, e := range endings {
		st, err := kids[i].Wait()
		if err != nil {
			return nil, err
		}
		out = append(out, ending{What: e.what, Signal: e.signal, Burn: e.burn, Status: st})
		code, sig := "", ""
		if st.Exited {
			code = fmt.Sprint(st.Code)
		} else {
			sig = fmt.Sprintf("%d %s", st.Signal, proc.SignalName(st.Signal))
		}
		t.Row(kids[i].Pid, e.what, st.String(), st.Exited, code, sig, yesNo(st.CoreDump), st.User, st.System)
	}
	t.Print()
	// ANCHOR_END: wait-status
	explainEndings(n, dir)
	return out, nil
}

// explainEndings says why the Go children ended as they did, and why no
// core file was (or was) written.
func explainEndings(n *narrator.Narrator, dir string) {
	n.Say(`wait4(2) returns one int: either "exited with code N" (WIFEXITED, WEXITSTATUS)
or "killed by signal S" (WIFSIGNALED, WTERMSIG), plus a core-dump bit, and its
rusage says how much CPU the child used. SIGTERM and SIGKILL end a child as
the kernel's default action does. SIGQUIT does not: a Go program catches it,
prints every goroutine's stack and exits with code 2, unless GOTRACEBACK=crash
asks it to die by SIGABRT instead, the way a C program dumps core.`)
	var lim unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_CORE, &lim)
	pattern, _ := os.ReadFile("/proc/sys/kernel/core_pattern")
	cores, _ := filepath.Glob(filepath.Join(dir, "core*"))
	switch {
	case len(cores) > 0:
		n.Say("the kernel wrote %s, %s, in the child's directory (core_pattern %q); the chapter removes it",
			filepath.Base(cores[0]), mib(fileSize(cores[0], nil)), strings.TrimSpace(string(pattern)))
	case lim.Cur == 0:
		n.Say("no core here: RLIMIT_CORE is 0 (ulimit -c), so the kernel wrote none and left the bit clear")
	default:
		n.Say("RLIMIT_CORE is %d and core_pattern %q: where a core went is the system's business", lim.Cur, strings.TrimSpace(string(pattern)))
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
