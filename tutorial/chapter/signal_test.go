package chapter

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// TestWaitForStop checks, in a child process, both halves of the promise:
// the first signal is caught and returned, and the second one kills, as
// the default handling does.
func TestWaitForStop(t *testing.T) {
	if os.Getenv("CHAPTER_WAIT_HELPER") == "1" {
		s := waitForStop(func() { fmt.Println("caught") })
		fmt.Println("stopped by", s)
		time.Sleep(time.Minute) // only the second signal should end this
		os.Exit(0)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) { testWaitForStop(t, sig) })
	}
}

func testWaitForStop(t *testing.T, sig syscall.Signal) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestWaitForStop$")
	cmd.Env = append(os.Environ(), "CHAPTER_WAIT_HELPER=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	expect := func(want string) {
		t.Helper()
		for lines.Scan() {
			if lines.Text() == want {
				return
			}
		}
		t.Fatalf("child ended its output before %q", want)
	}

	expect("caught")
	cmd.Process.Signal(sig)
	expect("stopped by " + sig.String())
	cmd.Process.Signal(sig)
	err = cmd.Wait()

	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("child after a second %v: %v, want killed by it", sig, err)
	}
	ws := exit.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != sig {
		t.Errorf("child after a second %v: %v, want killed by %v", sig, err, sig)
	}
}
