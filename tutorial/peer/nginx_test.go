package peer_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corofpm/corofpm/tutorial/peer"
)

// startNginx starts nginx for one test and stops it when the test ends,
// failing the test if nginx did not stop cleanly.
func startNginx(t *testing.T, cfg peer.NginxConfig) *peer.Nginx {
	t.Helper()
	peer.Need(t, "nginx")
	cfg.Dir = t.TempDir()
	n, err := peer.StartNginx(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Stop(); err != nil {
			t.Errorf("%v\nerror.log:\n%s", err, n.ErrorLog())
		}
	})
	return n
}

// get fetches url with a client of its own, so no connection outlives the
// test, and returns the status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: body: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

// TestNginxFastCGI sends requests through a real nginx to a FastCGI server
// over TCP and a unix socket, with and without fastcgi_keep_conn.
func TestNginxFastCGI(t *testing.T) {
	const requests = 3
	tests := []struct {
		name     string
		unix     bool
		keepConn bool
		conns    int // FastCGI connections nginx opens for the requests
	}{
		{name: "tcp", conns: requests},
		{name: "tcp keep_conn", keepConn: true, conns: 1},
		{name: "unix", unix: true, conns: requests},
		{name: "unix keep_conn", unix: true, keepConn: true, conns: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startResponder(t, tt.unix)
			n := startNginx(t, peer.NginxConfig{FastCGI: r.Addr, KeepConn: tt.keepConn})
			for range requests {
				status, body := get(t, n.URL("/hello.php"))
				if status != 200 || body != "hello from /hello.php\n" {
					t.Fatalf("GET /hello.php = %d %q\nerror.log:\n%s", status, body, n.ErrorLog())
				}
			}
			for name, value := range map[string]string{
				"SCRIPT_NAME":       "/hello.php",
				"SCRIPT_FILENAME":   n.Dir + "/www/hello.php",
				"GATEWAY_INTERFACE": "CGI/1.1",
				"REDIRECT_STATUS":   "200",
			} {
				if !r.sawParam(name, value) {
					t.Errorf("param %s=%s did not reach the FastCGI server", name, value)
				}
			}
			if got := r.connCount(); got != tt.conns {
				t.Errorf("%d requests took %d FastCGI connections, want %d", requests, got, tt.conns)
			}
		})
	}
}

func TestNginxAccessLog(t *testing.T) {
	r := startResponder(t, false)
	n := startNginx(t, peer.NginxConfig{FastCGI: r.Addr, AccessLog: true})
	get(t, n.URL("/hello.php?x=1"))
	// nginx writes the line after the client has the response; after Stop
	// every line is written.
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	// e.g. 200 0.001 0.001 "GET /hello.php?x=1 HTTP/1.1"
	line := strings.TrimSpace(n.AccessLog())
	if !strings.HasPrefix(line, "200 ") || !strings.HasSuffix(line, `"GET /hello.php?x=1 HTTP/1.1"`) {
		t.Errorf("access.log = %q", line)
	}
}

// TestNginxReadTimeout shows fastcgi_read_timeout at work: a FastCGI server
// slower than the timeout gets the client a 504 from nginx.
func TestNginxReadTimeout(t *testing.T) {
	r := startResponder(t, false)
	n := startNginx(t, peer.NginxConfig{FastCGI: r.Addr, ReadTimeout: 200 * time.Millisecond})
	if status, _ := get(t, n.URL("/slow.php")); status != http.StatusGatewayTimeout {
		t.Errorf("GET /slow.php = %d, want 504", status)
	}
	if log := n.ErrorLog(); !strings.Contains(log, "upstream timed out") {
		t.Errorf("error.log does not report the timeout:\n%s", log)
	}
}

// TestNginxStop proves that Stop leaves nothing behind: the master is reaped,
// its workers are gone with it, and this process has no children left.
func TestNginxStop(t *testing.T) {
	r := startResponder(t, false)
	n := startNginx(t, peer.NginxConfig{FastCGI: r.Addr, Workers: 2})
	get(t, n.URL("/hello.php"))

	if err := n.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := n.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if err := syscall.Kill(n.Pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kill(%d, 0) after Stop = %v, want ESRCH: the master is still there", n.Pid, err)
	}
	if err := syscall.Kill(-n.Pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kill(-%d, 0) after Stop = %v, want ESRCH: a worker is still there", n.Pid, err)
	}
	if kids, err := peer.Children(); err != nil || len(kids) != 0 {
		t.Errorf("Children() after Stop = %v, %v; want none", kids, err)
	}
	if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(n.Port)); err == nil {
		c.Close()
		t.Errorf("port %d still accepts connections after Stop", n.Port)
	}
	if log := n.ErrorLog(); !strings.Contains(log, "signal 3 (SIGQUIT) received") {
		t.Errorf("error.log does not show a graceful SIGQUIT shutdown:\n%s", log)
	}
}

// TestNginxStartFails checks that a start that cannot succeed (the port is
// taken) returns an error quoting error.log and leaves no process behind.
func TestNginxStartFails(t *testing.T) {
	peer.Need(t, "nginx")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port

	n, err := peer.StartNginx(peer.NginxConfig{Dir: t.TempDir(), FastCGI: "127.0.0.1:9", Port: port})
	if err == nil {
		n.Stop()
		t.Fatal("StartNginx on a taken port: no error")
	}
	if !strings.Contains(err.Error(), "Address already in use") {
		t.Errorf("error does not quote error.log: %v", err)
	}
	if kids, err := peer.Children(); err != nil || len(kids) != 0 {
		t.Errorf("Children() after failed start = %v, %v; want none", kids, err)
	}
}

func TestNginxConfigErrors(t *testing.T) {
	peer.Need(t, "nginx")
	for _, cfg := range []peer.NginxConfig{
		{FastCGI: "127.0.0.1:9"},                           // no Dir
		{Dir: t.TempDir()},                                 // no FastCGI address
		{Dir: t.TempDir() + "/$x", FastCGI: "127.0.0.1:9"}, // nginx would expand $x
	} {
		if n, err := peer.StartNginx(cfg); err == nil {
			n.Stop()
			t.Errorf("StartNginx(%+v): no error", cfg)
		}
	}
}

// TestNginxMasterKilled covers a master that dies without a graceful
// shutdown: its workers would run on as orphans holding the port, so Stop
// must report the death and kill them.
func TestNginxMasterKilled(t *testing.T) {
	r := startResponder(t, false)
	peer.Need(t, "nginx")
	n, err := peer.StartNginx(peer.NginxConfig{Dir: t.TempDir(), FastCGI: r.Addr, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop() })
	// StartNginx returns once the master listens; the workers fork just after.
	deadline := time.Now().Add(2 * time.Second)
	for len(groupMembers(t, n.Pid)) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if group := groupMembers(t, n.Pid); len(group) != 3 {
		t.Fatalf("process group %d = %v, want the master and 2 workers", n.Pid, group)
	}

	syscall.Kill(n.Pid, syscall.SIGKILL)
	if err := n.Stop(); err == nil || !strings.Contains(err.Error(), "signal: killed") {
		t.Errorf("Stop after the master was killed: %v, want it reported", err)
	}
	deadline = time.Now().Add(2 * time.Second)
	for len(groupMembers(t, n.Pid)) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if left := groupMembers(t, n.Pid); len(left) > 0 {
		t.Errorf("orphaned nginx workers still running: %v", left)
	}
}

// groupMembers lists the live (non-zombie) processes in process group pgid.
// A stat line reads "pid (comm) state ppid pgrp ...".
func groupMembers(t *testing.T, pgid int) []int {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // exited meanwhile
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 2 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			pid, _ := strconv.Atoi(strings.Fields(string(b))[0])
			pids = append(pids, pid)
		}
	}
	return pids
}
