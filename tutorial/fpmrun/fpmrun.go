// Package fpmrun starts a complete FPM (fpm.Master and its workers) as a
// child of a chapter or a test, from a configuration written into a
// directory of its own, and pokes it: FastCGI requests, signals, its log.
// The program must pass fpm.Roles to proc.Main first thing in main (or in
// TestMain).
package fpmrun

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/corofpm/corofpm/fpm"
	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/net/fastcgi"
	"github.com/corofpm/corofpm/tutorial/peer"
)

// FPM is a running master.
type FPM struct {
	// Dir holds fpm.conf, fpm.log, fpm.pid and whatever the pool writes.
	Dir string
	// Addr is the pool's listening address.
	Addr string
	// Master is the master process.
	Master *proc.Process
	// Conf and Log are the paths of the configuration and the error log.
	Conf, Log string
	// logOffset is where WaitLog looks from.
	logOffset int
}

// Start writes dir/fpm.conf with one pool, www, listening on a free
// loopback port, with the given pool directives ("pm = dynamic\n..."), and
// starts its master; it returns once the master logged that it is ready.
// The master's own stdout and stderr go to output (nil discards them).
func Start(dir, pool string, output io.Writer) (*FPM, error) {
	port, err := peer.FreePort()
	if err != nil {
		return nil, err
	}
	return StartOn(dir, "127.0.0.1:"+strconv.Itoa(port), pool, output)
}

// StartOn is Start with the pool listening on addr: host:port, or a unix
// socket path.
func StartOn(dir, addr, pool string, output io.Writer) (*FPM, error) {
	conf := fmt.Sprintf("[global]\npid = fpm.pid\nerror_log = fpm.log\ndaemonize = no\n\n[www]\nlisten = %s\n%s\n", addr, pool)
	return StartConf(dir, conf, addr, output)
}

// StartConf is Start with a configuration the caller writes in full: one
// with [global] directives (emergency_restart_threshold), or its own
// listen address. conf is the text of dir/fpm.conf, and must log to
// "error_log = fpm.log" for WaitLog; addr is the address Get talks to.
func StartConf(dir, conf, addr string, output io.Writer) (*FPM, error) {
	f := &FPM{
		Dir:  dir,
		Addr: addr,
		Conf: filepath.Join(dir, "fpm.conf"),
		Log:  filepath.Join(dir, "fpm.log"),
	}
	if err := os.WriteFile(f.Conf, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	var err error
	f.Master, err = proc.Start(proc.Spec{Role: fpm.MasterRole, Args: []string{f.Conf}, Stdout: output, Stderr: output})
	if err != nil {
		return nil, err
	}
	if _, err := f.WaitLog("ready to handle connections", 15*time.Second); err != nil {
		f.Kill()
		return nil, err
	}
	return f, nil
}

// Get sends one FastCGI request for path (with an optional query string)
// as nginx would, and returns the parsed CGI response.
func (f *FPM) Get(path, query string) (*fastcgi.CGIResponse, error) {
	c, err := fastcgi.Dial(f.Addr, 10*time.Second) // host:port or a socket path
	if err != nil {
		return nil, err
	}
	defer c.Close()
	uri := path
	if query != "" {
		uri += "?" + query
	}
	reply, err := c.Do(fastcgi.Call{Params: map[string]string{
		"REQUEST_METHOD": "GET", "SCRIPT_NAME": path, "SCRIPT_FILENAME": path,
		"REQUEST_URI": uri, "QUERY_STRING": query, "REMOTE_ADDR": "127.0.0.1",
		"SERVER_PROTOCOL": "HTTP/1.1",
	}})
	if err != nil {
		return nil, err
	}
	return fastcgi.ParseCGI(reply.Stdout)
}

// WaitLog waits until a line containing text appears in the error log
// after the last line WaitLog found, and returns it.
func (f *FPM) WaitLog(text string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		b, _ := os.ReadFile(f.Log)
		if f.logOffset > len(b) {
			f.logOffset = 0 // a new file: the old one was rotated away
		}
		{
			rest := string(b[f.logOffset:])
			if i := strings.Index(rest, text); i >= 0 {
				end := strings.IndexByte(rest[i:], '\n')
				if end < 0 {
					end = len(rest) - i
				}
				start := strings.LastIndexByte(rest[:i], '\n') + 1
				f.logOffset += i + end
				return rest[start : i+end], nil
			}
		}
		if _, exited, _ := f.Master.TryWait(); exited {
			return "", fmt.Errorf("the master exited before logging %q; its log:\n%s", text, b)
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no %q in the master's log after %s; its log:\n%s", text, timeout, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// LogText is the whole error log so far.
func (f *FPM) LogText() string {
	b, _ := os.ReadFile(f.Log)
	return string(b)
}

// Workers lists the master's live worker processes.
func (f *FPM) Workers() ([]int, error) { return peer.ChildrenOf(f.Master.Pid) }

// Signal sends sig to the master.
func (f *FPM) Signal(sig syscall.Signal) error { return f.Master.Signal(sig) }

// Stop stops the FPM gracefully (SIGQUIT) and waits for the master, killing
// it after timeout; its workers die with it (their lifeline).
func (f *FPM) Stop(timeout time.Duration) (proc.Status, error) {
	f.Master.Signal(syscall.SIGQUIT)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if st, exited, err := f.Master.TryWait(); exited || err != nil {
			return st, err
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.Kill()
	return proc.Status{}, errors.New("the master did not stop in time: killed")
}

// Kill ends the master at once with SIGKILL and reaps it.
func (f *FPM) Kill() {
	f.Master.Signal(syscall.SIGKILL)
	f.Master.Wait()
}
