package proc

import (
	"fmt"
	"io"
	"os"
	"strconv"
)

// Child is a child process's view of itself, given to its role function.
type Child struct {
	// Role is the role this process plays.
	Role string
	// Args are the Spec's Args.
	Args []string
	// Files are the files the parent passed, as fd 3, 4, ... in order.
	Files []*os.File

	// lifeline is the inherited lifeline's fd, -1 when there is none.
	lifeline int
}

// Env returns the environment that makes an exec(2) of this program start
// it as this same child again: its role, its files (still open at fd 3, 4,
// ... since exec keeps them) and its lifeline. A child that replaces
// itself by a newer copy, as an FPM master reloads, adds them to the new
// program's environment.
func (c *Child) Env() []string {
	env := []string{EnvRole + "=" + c.Role, EnvFiles + "=" + strconv.Itoa(len(c.Files))}
	if c.lifeline >= 0 {
		env = append(env, EnvLifeline+"="+strconv.Itoa(c.lifeline))
	}
	return env
}

// Main runs the role this process was started for, if it was started by
// Start, and exits with the role function's result: 0 for nil, else 1 after
// printing the error on stderr. In the parent (no COROFPM_ROLE) it returns
// at once. Call it first thing in main, before anything else starts.
//
// A child started with a lifeline exits by itself when its parent dies,
// however the parent died: no orphaned worker keeps the socket open.
func Main(roles map[string]func(*Child) error) {
	role, ok := os.LookupEnv(EnvRole)
	if !ok {
		return
	}
	run, known := roles[role]
	if !known {
		fmt.Fprintf(os.Stderr, "proc: this program has no role %q (known: %d roles)\n", role, len(roles))
		os.Exit(2)
	}
	c, err := current(role)
	if err != nil {
		fmt.Fprintf(os.Stderr, "proc: %s %d: %v\n", role, os.Getpid(), err)
		os.Exit(2)
	}
	if err := run(c); err != nil {
		fmt.Fprintf(os.Stderr, "%s %d: %v\n", role, os.Getpid(), err)
		os.Exit(1)
	}
	os.Exit(0)
}

// current reads what the parent passed: the files and the lifeline.
func current(role string) (*Child, error) {
	c := &Child{Role: role, Args: os.Args[1:], lifeline: -1}
	// The variables are for this process only: its own children get theirs
	// from Start.
	defer os.Unsetenv(EnvRole)
	defer os.Unsetenv(EnvFiles)
	defer os.Unsetenv(EnvLifeline)
	n, err := strconv.Atoi(os.Getenv(EnvFiles))
	if err != nil {
		return nil, fmt.Errorf("bad %s=%q", EnvFiles, os.Getenv(EnvFiles))
	}
	for i := range n {
		c.Files = append(c.Files, os.NewFile(uintptr(3+i), fmt.Sprintf("inherited fd %d", 3+i)))
	}
	if s, ok := os.LookupEnv(EnvLifeline); ok {
		fd, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("bad %s=%q", EnvLifeline, s)
		}
		c.lifeline = fd
		go watchParent(role, os.NewFile(uintptr(fd), "lifeline"))
	}
	return c, nil
}

// watchParent blocks reading the lifeline pipe. The parent never writes to
// it, so the read returns only when the kernel closed the parent's end,
// because the parent exited or was killed: then the child exits too.
// (Linux's PR_SET_PDEATHSIG does the same, but in Go it fires when the
// parent's *thread* that started us exits, which the runtime may do at any
// time.)
func watchParent(role string, lifeline *os.File) {
	io.Copy(io.Discard, lifeline)
	fmt.Fprintf(os.Stderr, "%s %d: parent died, exiting\n", role, os.Getpid())
	os.Exit(3)
}
