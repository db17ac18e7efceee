package peer_test

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"testing"

	"github.com/corofpm/corofpm/tutorial/peer"
)

func TestLookMissingPeer(t *testing.T) {
	_, err := peer.Look("no-such-peer-xyz")
	if err == nil {
		t.Fatal("Look(no-such-peer-xyz): no error")
	}
	if !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("Look error %v: want errors.Is exec.ErrNotFound", err)
	}
	want := "no-such-peer-xyz: not installed (no known apt package)"
	if err.Error() != want {
		t.Errorf("Look error = %q, want %q", err, want)
	}
}

func TestNotInstalledNamesPackage(t *testing.T) {
	err := &peer.NotInstalledError{Name: "nginx", Package: "nginx-light"}
	want := "nginx: not installed (apt-get install nginx-light)"
	if err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
}

func TestLookFindsShell(t *testing.T) {
	path, err := peer.Look("sh")
	if err != nil || path == "" {
		t.Fatalf("Look(sh) = %q, %v", path, err)
	}
}

// fakeTB records what Need asked of it. Unlike *testing.T, its Skipf and
// Fatalf return, so one test can watch Need take both branches.
type fakeTB struct {
	skipped, fatal string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped = fmt.Sprintf(format, args...)
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
}

func TestNeed(t *testing.T) {
	const line = "no-such-peer-xyz: not installed (no known apt package)"
	tests := []struct {
		name, ci    string
		peers       []string
		skip, fatal string
	}{
		{name: "present", ci: "", peers: []string{"sh"}},
		{name: "present under CI", ci: "true", peers: []string{"sh"}},
		{name: "missing skips", ci: "", peers: []string{"sh", "no-such-peer-xyz"}, skip: line},
		{name: "CI=false still skips", ci: "false", peers: []string{"no-such-peer-xyz"}, skip: line},
		{name: "missing under CI fails", ci: "true", peers: []string{"no-such-peer-xyz"},
			fatal: "CI=true, a real-peer test must not skip: " + line},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			var tb fakeTB
			peer.Need(&tb, tt.peers...)
			if tb.skipped != tt.skip {
				t.Errorf("Skipf(%q), want %q", tb.skipped, tt.skip)
			}
			if tb.fatal != tt.fatal {
				t.Errorf("Fatalf(%q), want %q", tb.fatal, tt.fatal)
			}
		})
	}
}

func TestFreePort(t *testing.T) {
	port, err := peer.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("FreePort gave %d, but it cannot be bound: %v", port, err)
	}
	ln.Close()
}
