package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"

	"github.com/corofpm/corofpm/tutorial/narrator"
)

// command is what step 6 ran and captured.
type command struct {
	Args   []string
	Pid    int    // the shell's pid, from cmd.Process
	Stdout string // what it wrote on stdout
	Stderr string // and on stderr, captured apart
	Code   int    // its exit code
}

// ANCHOR: exec
// showCommand runs a shell that says who it is on stdout, complains on
// stderr and exits 3. os/exec starts it with clone(CLONE_VFORK) and
// execve(2) at once: the fork Go can afford, because the child replaces
// the Go runtime before it runs any Go code.
func showCommand(n *narrator.Narrator) (c command, err error) {
	c.Args = []string{"/bin/sh", "-c", `echo "sh $$, child of $PPID"; echo "something went wrong" >&2; exit 3`}
	cmd := exec.Command(c.Args[0], c.Args[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr // a pipe each, copied by a goroutine
	err = cmd.Run()                           // Start, then Wait: wait4 and the copies
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return c, err // it did not start, or the copy failed
	}
	c.Pid, c.Code = cmd.Process.Pid, cmd.ProcessState.ExitCode()
	c.Stdout, c.Stderr = stdout.String(), stderr.String()
	// ANCHOR_END: exec
	n.Say("$ %s '%s'", strings.Join(c.Args[:2], " "), c.Args[2])
	n.Say("pid %d (this chapter is %d), exit code %d", c.Pid, os.Getpid(), c.Code)
	t := n.Table("stream", "captured")
	t.Row("stdout", strings.TrimSpace(c.Stdout))
	t.Row("stderr", strings.TrimSpace(c.Stderr))
	t.Print()
	n.Say(`Run returned %q: a non-zero exit is an *exec.ExitError, whose
ExitCode() reads the same wait4 status as step 3. Output and CombinedOutput
are shorthands; exec.CommandContext kills the command when its context ends.`, err)
	return c, nil
}
