// Package chaptertest runs a chapter the way a reader does, for the
// chapters' tests: built as a binary, started with -serve, poked, then
// stopped with ^C (SIGINT).
package chaptertest

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Served is a chapter running with -serve.
type Served struct {
	// Printed is what it printed up to "stop with ^C": the instructions.
	Printed string
	cmd     *exec.Cmd
	done    chan error
}

// Serve builds the chapter in the current directory and runs it with
// -serve and args, returning once it has printed "stop with ^C". The test
// fails if that takes more than 30 s; the chapter is killed at the end of
// the test if it is still running.
func Serve(t *testing.T, args ...string) *Served {
	t.Helper()
	bin := Build(t)
	s := &Served{cmd: exec.Command(bin, append([]string{"-serve"}, args...)...), done: make(chan error, 1)}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			<-s.done
		}
	})
	printed := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(stdout)
		var b strings.Builder
		for lines.Scan() {
			b.WriteString(lines.Text() + "\n")
			if strings.Contains(lines.Text(), "stop with ^C") {
				break
			}
		}
		printed <- b.String()
		io.Copy(io.Discard, stdout)
		s.done <- s.cmd.Wait()
	}()
	select {
	case s.Printed = <-printed:
	case <-time.After(30 * time.Second):
		t.Fatal("the chapter did not print its instructions within 30 s")
	}
	if !strings.Contains(s.Printed, "stop with ^C") {
		t.Fatalf("the chapter ended before it was ready:\n%s", s.Printed)
	}
	return s
}

// Stop sends SIGINT, as ^C in a terminal does, and checks that the chapter
// exits with status 0 within 10 s.
func (s *Served) Stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("exit after SIGINT: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the chapter did not stop within 10 s of SIGINT")
	}
}

// Build builds the chapter in the current directory into the test's
// temp dir and returns the binary's path.
func Build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "chapter")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// ServeRefused runs a chapter that has nothing to serve with -serve, and
// checks that it says so as a wrong usage: one line on stderr, nothing on
// stdout, exit status 2. It returns the line.
func ServeRefused(t *testing.T) string {
	t.Helper()
	var stdout, stderr strings.Builder
	cmd := exec.Command(Build(t), "-serve")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("want exit status 2, got %v\n%s%s", err, stdout.String(), stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("nothing on stdout, got %q", stdout.String())
	}
	if n := strings.Count(stderr.String(), "\n"); n != 1 {
		t.Errorf("one line on stderr, got %d: %q", n, stderr.String())
	}
	return stderr.String()
}

// OpenFDs counts this process's open fds, for the tests that check a run
// leaves none behind.
func OpenFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// Gone reports whether no process with this pid exists any more.
func Gone(pid int) bool {
	return syscall.Kill(pid, 0) == syscall.ESRCH
}
