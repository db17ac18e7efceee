package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/corofpm/corofpm/fpm"
	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/fpm/script"
	"github.com/corofpm/corofpm/net/sock"
	"golang.org/x/sys/unix"
)

// roles are what this binary does when it is re-executed as a child:
// proc.Main, first thing in main (and in the test's TestMain), finds
// COROFPM_ROLE in its environment, runs that function and exits. The
// daemon's two roles are in daemon.go.
var roles = map[string]func(*proc.Child) error{
	"greeter":  greet,
	"spinner":  spin,
	"sleeper":  sleepUntilSignalled,
	"waiter":   waitForRelease,
	"detacher": detach,
	"daemon":   runDaemon,
	"true":     func(*proc.Child) error { return nil },
	"worker":   serveFastCGI,
}

// ANCHOR: greeter
// greet is step 2's child. What a forked C child would have found in its
// memory, it finds as numbered fds: the pipe as fd 3, the listening socket
// as fd 4, in the order the parent listed them in Spec.Files.
func greet(c *proc.Child) error {
	if len(c.Files) != 2 {
		return fmt.Errorf("want a pipe and a socket, got %d files", len(c.Files))
	}
	pipe, socket := c.Files[0], c.Files[1]
	if _, err := fmt.Fprintf(pipe, "pid %d says hello on fd %d\n", os.Getpid(), pipe.Fd()); err != nil {
		return fmt.Errorf("write on the inherited pipe: %w", err)
	}
	defer pipe.Close() // held while the chapter reads our fd table
	ln, err := sock.FileListener(socket)
	if err != nil {
		return err
	}
	fmt.Printf("blocking in accept(2) on fd %d, %s\n", ln.FD, ln.Addr)
	conn, err := ln.Accept()
	if err != nil {
		return err
	}
	defer conn.Close()
	fmt.Printf("accepted %s\n", conn.Peer)
	_, err = fmt.Fprintf(conn, "pid %d accepted you on its fd %d\n", os.Getpid(), ln.FD)
	return err
}

// ANCHOR_END: greeter

// spin burns CPU until this process has used Args[1] of it, so that the
// status table has a CPU time worth reading, then exits with the code in
// Args[0]. It calls os.Exit itself: a role's error always means code 1.
func spin(c *proc.Child) error {
	if len(c.Args) != 2 {
		return fmt.Errorf("want an exit code and a CPU time, got %q", c.Args)
	}
	code, err := strconv.Atoi(c.Args[0])
	if err != nil {
		return fmt.Errorf("exit code %q: %w", c.Args[0], err)
	}
	burn, err := time.ParseDuration(c.Args[1])
	if err != nil {
		return fmt.Errorf("CPU time %q: %w", c.Args[1], err)
	}
	fmt.Printf("burning %s of CPU, then exit(%d)\n", burn, code)
	giveUp := time.Now().Add(10 * time.Second)
	for cpuTime() < burn && time.Now().Before(giveUp) {
		for i := range 100_000 {
			sink = sink*31 + i
		}
	}
	os.Exit(code)
	return nil
}

// sink is what spin computes, kept so that the compiler keeps the work.
var sink int

// cpuTime is the CPU this process has used so far, user and system.
func cpuTime() time.Duration {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}

// sleepUntilSignalled moves to the directory in Args[0], where a core file
// would land, says it is ready on fd 3 and sleeps until a signal ends it.
// It asks for no signal with signal.Notify, so the Go runtime applies its
// defaults: SIGTERM ends the process as the kernel would, SIGQUIT prints
// every goroutine's stack and exits with code 2.
func sleepUntilSignalled(c *proc.Child) error {
	if len(c.Files) != 1 || len(c.Args) != 1 {
		return fmt.Errorf("want a ready pipe and a directory, got %d files and %q", len(c.Files), c.Args)
	}
	if err := os.Chdir(c.Args[0]); err != nil {
		return err
	}
	if err := ready(c.Files[0]); err != nil {
		return err
	}
	for {
		time.Sleep(time.Hour)
	}
}

// waitForRelease is step 4's child: it says it is ready on fd 4, then
// blocks reading fd 3 until the chapter closes the pipe's write end. Every
// waiter reads the same pipe, so one close(2) releases them all at the
// same moment, the nearest a program gets to "several children exit at
// once".
func waitForRelease(c *proc.Child) error {
	if len(c.Files) != 2 {
		return fmt.Errorf("want a release pipe and a ready pipe, got %d files", len(c.Files))
	}
	if err := ready(c.Files[1]); err != nil {
		return err
	}
	_, err := io.Copy(io.Discard, c.Files[0])
	return err
}

// ANCHOR: worker
// serveFastCGI is -serve's worker: fpm's blocking worker on the listening
// socket it inherited as fd 3, serving /hello.php and /sleep.php one
// request at a time until a signal or its parent's death ends it.
func serveFastCGI(c *proc.Child) error {
	if len(c.Files) != 1 {
		return fmt.Errorf("want a listening socket, got %d files", len(c.Files))
	}
	ln, err := sock.FileListener(c.Files[0])
	if err != nil {
		return err
	}
	fmt.Printf("blocking in accept(2) on fd %d (%s)\n", ln.FD, ln.Addr)
	w := &fpm.BlockingWorker{
		Listener: ln,
		Handler:  script.Default(script.Blocking{}, ""),
		Logf:     func(format string, args ...any) { fmt.Printf(format+"\n", args...) },
	}
	return w.Run()
}

// ANCHOR_END: worker
