package main

import (
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

// shown returns a child's output tagged with its role and pid, for
// proc.Spec.Output: the reader sees which process said what.
func shown(n *narrator.Narrator, role string) func(pid int) io.Writer {
	return func(pid int) io.Writer { return n.Tagged(role, pid) }
}

// detailed is shown for -v only, and only its first lines: children whose
// chatter is not the point of the step (the goroutine dump a Go program
// prints on SIGQUIT runs to a hundred lines).
func detailed(n *narrator.Narrator, role string) func(pid int) io.Writer {
	return func(pid int) io.Writer {
		if !n.Verbose() {
			return io.Discard
		}
		return &head{w: n.Tagged(role, pid), lines: 3}
	}
}

// head passes on the first lines written to it and drops the rest.
type head struct {
	w     io.Writer
	lines int // still to pass on
}

func (h *head) Write(p []byte) (int, error) {
	for i, b := range p {
		if h.lines > 0 && b == '\n' {
			if h.lines--; h.lines == 0 {
				h.w.Write(p[:i+1])
				return len(p), nil
			}
		}
	}
	if h.lines > 0 {
		h.w.Write(p)
	}
	return len(p), nil
}

// killAll ends the children a step started and did not reap, on the way
// out of a step that failed half-way, and reaps them. A reaped child is
// left alone: its pid may already belong to another process.
func killAll(kids []*proc.Process) {
	for _, p := range kids {
		if p == nil {
			continue
		}
		if _, done, err := p.TryWait(); err == nil && !done {
			p.Signal(syscall.SIGKILL)
			p.Wait()
		}
	}
}

// readyPipe is how a child says "my role is running": it writes one byte
// on the write end, inherited as an fd, once its runtime has started and
// its signal handlers are in place. The parent reads as many bytes as it
// started children, instead of sleeping and hoping.
type readyPipe struct {
	r, w *os.File
}

func newReadyPipe() (*readyPipe, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("ready pipe: %w", err)
	}
	return &readyPipe{r: r, w: w}, nil
}

// wait closes our write end (the children hold theirs) and reads one byte
// per child: EOF before that means a child died before it was ready.
func (p *readyPipe) wait(children int, timeout time.Duration) error {
	p.w.Close()
	p.r.SetReadDeadline(time.Now().Add(timeout))
	if _, err := io.ReadFull(p.r, make([]byte, children)); err != nil {
		return fmt.Errorf("waiting for %d children to be ready: %w", children, err)
	}
	return nil
}

func (p *readyPipe) close() {
	p.r.Close()
	p.w.Close()
}

// ready is the child's side: one byte on the inherited write end.
func ready(f *os.File) error {
	defer f.Close()
	if _, err := f.Write([]byte{1}); err != nil {
		return fmt.Errorf("write on the ready pipe: %w", err)
	}
	return nil
}
