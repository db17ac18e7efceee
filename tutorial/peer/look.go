// Package peer starts and stops the real programs that the chapters and tests
// talk to: nginx in front of our FastCGI servers, cgi-fcgi as a second FastCGI
// client, wrk and curl for load and probes.
//
// The tutorial claims to behave like php-fpm; only a real peer can confirm
// that. A Go FastCGI client written next to a Go FastCGI server would share
// its author's misreadings of the spec, so the tests put the programs PHP
// people actually run on the other end of the socket.
package peer

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// packages maps each peer program to the Debian package that installs it, so
// that a missing program turns into a one-line fix instead of a search.
var packages = map[string]string{
	"nginx":           "nginx-light",
	"cgi-fcgi":        "libfcgi-bin",
	"wrk":             "wrk",
	"curl":            "curl",
	"redis-cli":       "redis-tools",
	"redis-benchmark": "redis-tools",
	"redis-server":    "redis-server",
	"chromium":        "chromium",
	"php-fpm8.2":      "php8.2-fpm",
}

// sbinDirs are searched after $PATH. Debian installs nginx and php-fpm8.2 in
// /usr/sbin, which is on root's PATH but usually not on a normal user's, and
// "not installed" would then be a lie.
var sbinDirs = []string{"/usr/sbin", "/sbin", "/usr/local/sbin"}

// NotInstalledError says which peer is missing and which package provides it.
// Its message is the single line a test prints when it skips.
type NotInstalledError struct {
	// Name is the program looked for, e.g. "nginx".
	Name string
	// Package is the apt package that installs it, or "" when unknown.
	Package string
	// Err is the exec.LookPath error, kept so errors.Is(err, exec.ErrNotFound) holds.
	Err error
}

func (e *NotInstalledError) Error() string {
	if e.Package == "" {
		return e.Name + ": not installed (no known apt package)"
	}
	return fmt.Sprintf("%s: not installed (apt-get install %s)", e.Name, e.Package)
}

func (e *NotInstalledError) Unwrap() error { return e.Err }

// Look returns the path of the peer program name, searching $PATH and then
// the sbin directories. When it is missing, the error is a
// *NotInstalledError whose message names the apt package to install:
//
//	nginx: not installed (apt-get install nginx-light)
func Look(name string) (string, error) {
	path, err := exec.LookPath(name)
	if err == nil {
		return path, nil
	}
	if !strings.Contains(name, "/") {
		for _, dir := range sbinDirs {
			p := filepath.Join(dir, name)
			if fi, statErr := os.Stat(p); statErr == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
				return p, nil
			}
		}
	}
	return "", &NotInstalledError{Name: name, Package: packages[name], Err: err}
}

// TB is the part of testing.TB that Need uses, so that this package does not
// import "testing" (it is also linked into the chapters' binaries) and so that
// Need itself can be tested with a fake.
type TB interface {
	Helper()
	Skipf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Need skips the test when one of the named peers is missing, with one line
// per missing peer saying what to install. Under CI=true it fails instead:
// CI installs every peer, so a skip there means a real-peer test silently
// stopped running, which is exactly the regression these tests exist to catch.
func Need(tb TB, names ...string) {
	tb.Helper()
	var missing []string
	for _, name := range names {
		if _, err := Look(name); err != nil {
			missing = append(missing, err.Error())
		}
	}
	if len(missing) == 0 {
		return
	}
	line := strings.Join(missing, "; ")
	if os.Getenv("CI") == "true" {
		tb.Fatalf("CI=true, a real-peer test must not skip: %s", line)
		return
	}
	tb.Skipf("%s", line)
}
