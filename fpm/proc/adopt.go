package proc

// Adopt returns a Process for a child this process did not Start: an
// orphaned grandchild the kernel re-parented to it because it is a child
// subreaper (prctl PR_SET_CHILD_SUBREAPER), as a daemon's starter or a
// supervisor is. Wait, TryWait and Signal work on it as on any child; it
// has no lifeline and no output to copy.
func Adopt(pid int, role string) *Process {
	p := &Process{Pid: pid, Role: role, copying: make(chan struct{})}
	close(p.copying)
	return p
}
