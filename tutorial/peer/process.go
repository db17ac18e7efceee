package peer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on right now.
//
// It asks the kernel for one (bind to port 0) and closes the socket, so
// another program can take the port before the caller binds it. StartNginx
// retries for that reason; callers that can bind port 0 themselves should.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("peer: free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// CgiFcgi sends one FastCGI request to addr (host:port or a unix socket path)
// with the cgi-fcgi program from libfcgi, the reference C client, and returns
// what the application wrote to FCGI_STDOUT: CGI headers, a blank line, the
// body.
//
// cgi-fcgi takes the request's params from its own environment, so params
// become the environment, plus PATH and nothing else: a param the test did not
// write must not leak in from the shell that ran the test.
//
// cgi-fcgi forwards only CONTENT_LENGTH bytes of its stdin as FCGI_STDIN, so
// when stdin is not empty and params has no CONTENT_LENGTH, it is set to
// len(stdin); otherwise the body would be dropped without a word.
//
// The program is killed when timeout passes; the error then says so.
func CgiFcgi(addr string, params map[string]string, stdin []byte, timeout time.Duration) ([]byte, error) {
	path, err := Look("cgi-fcgi")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, path, "-bind", "-connect", addr)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range params {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if _, ok := params["CONTENT_LENGTH"]; !ok && len(stdin) > 0 {
		cmd.Env = append(cmd.Env, "CONTENT_LENGTH="+strconv.Itoa(len(stdin)))
	}
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	// The pipes are copied by goroutines; WaitDelay bounds how long Wait
	// waits for them after the kill, so the timeout is a real bound.
	cmd.WaitDelay = time.Second

	err = cmd.Run()
	if ctx.Err() != nil {
		return stdout.Bytes(), fmt.Errorf("peer: cgi-fcgi -connect %s: no answer within %v: %w", addr, timeout, ctx.Err())
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		return stdout.Bytes(), fmt.Errorf("peer: cgi-fcgi -connect %s: %w: %s", addr, err, msg)
	}
	return stdout.Bytes(), nil
}

// Children lists the live processes whose parent is this process, read from
// /proc/*/stat. Tests call it after stopping their peers to prove that nothing
// was left running; zombies are not counted, since they hold no resources
// but a pid and a parent that has not reaped them yet is a separate bug.
func Children() ([]int, error) { return ChildrenOf(os.Getpid()) }

// ChildrenOf lists the live processes whose parent is parent: an FPM
// master's workers, for instance.
func ChildrenOf(parent int) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("peer: children: %w", err)
	}
	var kids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue // not a process: /proc/self, /proc/meminfo, ...
		}
		ppid, state, err := readStat(pid)
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
			continue // it exited while we were scanning
		}
		if err != nil {
			return nil, fmt.Errorf("peer: children: %w", err)
		}
		if ppid == parent && state != 'Z' {
			kids = append(kids, pid)
		}
	}
	return kids, nil
}

// readStat returns the parent pid and the state letter of process pid.
// A stat line looks like this:
//
//	4242 (nginx: worker) S 4241 4241 ...
//
// The command name is in parentheses and may itself hold spaces and ')', so
// the fields are counted from the last ')'.
func readStat(pid int) (ppid int, state byte, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: no ')' in %q", pid, b)
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 2 || len(fields[0]) != 1 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: short line %q", pid, b)
	}
	ppid, err = strconv.Atoi(fields[1])
	if err != nil {
		return 0, 0, fmt.Errorf("/proc/%d/stat: ppid: %w", pid, err)
	}
	return ppid, fields[0][0], nil
}
