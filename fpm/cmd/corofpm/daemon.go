package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// daemonize starts this program again as the master, in a new session
// (setsid: no controlling terminal, so a closed terminal's SIGHUP cannot
// reach it) with its standard streams on /dev/null, and waits until it
// reports that it serves, or why it could not: the shell that ran corofpm
// learns of a failure from the exit code, as with php-fpm.
func daemonize(args []string, stderr io.Writer) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "ERROR: cannot find this program to run it as a daemon: %v\n", err)
		return 1
	}
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Fprintf(stderr, "ERROR: %v\n", err)
		return 1
	}
	defer r.Close()
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), envDaemon+"=1")
	cmd.ExtraFiles = []*os.File{w} // fd 3: the report
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		fmt.Fprintf(stderr, "ERROR: cannot start the daemon: %v\n", err)
		return 1
	}
	w.Close()
	done := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		done <- strings.TrimSpace(line)
	}()
	select {
	case line := <-done:
		if line == "ok" {
			cmd.Process.Release() // it lives on; init will reap it
			return 0
		}
		if line == "" {
			line = "the daemon exited before it was ready"
		}
		fmt.Fprintf(stderr, "ERROR: %s\n", line)
	case <-time.After(30 * time.Second):
		fmt.Fprintf(stderr, "ERROR: the daemon did not report within 30 s\n")
		cmd.Process.Kill()
	}
	cmd.Wait()
	return 1
}

// report is fd 3 of a daemon started by daemonize: the pipe to the
// process waiting for it.
func report(line string) {
	f := os.NewFile(3, "daemon report")
	fmt.Fprintln(f, line)
	f.Close()
}

func reportReady() { report("ok") }

func reportFailure(err error) {
	report(strings.ReplaceAll(err.Error(), "\n", "; "))
}
