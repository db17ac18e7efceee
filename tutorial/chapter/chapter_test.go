package chapter

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"strings"
	"testing"
)

var info01 = Info{
	Number:        "01",
	Title:         "FastCGI: one worker, one request at a time",
	About:         "One worker serves one request at a time.",
	DefaultListen: "127.0.0.1:9001",
}

// parse runs ParseArgs on a fresh flag set, returning its -h output too.
func parse(t *testing.T, info Info, args ...string) (*Options, string, error) {
	t.Helper()
	fs := flag.NewFlagSet("chapter", flag.ContinueOnError)
	var out bytes.Buffer
	fs.SetOutput(&out)
	opts, err := ParseArgs(fs, info, args)
	return opts, out.String(), err
}

func TestParseDefaults(t *testing.T) {
	opts, _, err := parse(t, info01)
	if err != nil {
		t.Fatal(err)
	}
	want := Options{Listen: "127.0.0.1:9001"}
	if *opts != want {
		t.Errorf("defaults = %+v, want %+v", *opts, want)
	}
	if got := opts.Network(); got != "tcp" {
		t.Errorf("Network() = %q, want tcp", got)
	}
}

func TestParseEveryFlag(t *testing.T) {
	opts, _, err := parse(t, info01, "-quick", "-serve", "-listen", "/tmp/fpm.sock", "-v")
	if err != nil {
		t.Fatal(err)
	}
	want := Options{Quick: true, Serve: true, Listen: "/tmp/fpm.sock", Verbose: true}
	if *opts != want {
		t.Errorf("options = %+v, want %+v", *opts, want)
	}
	if got := opts.Network(); got != "unix" {
		t.Errorf("Network() = %q, want unix", got)
	}
}

func TestParseKeepsChapterFlags(t *testing.T) {
	fs := flag.NewFlagSet("chapter", flag.ContinueOnError)
	workers := fs.Int("workers", 4, "how many workers to fork")
	opts, err := ParseArgs(fs, info01, []string{"-workers", "8", "-listen=[::1]:9100"})
	if err != nil {
		t.Fatal(err)
	}
	if *workers != 8 || opts.Listen != "[::1]:9100" {
		t.Errorf("workers=%d listen=%q, want 8 and [::1]:9100", *workers, opts.Listen)
	}
}

func TestParseRejectsStrayArgs(t *testing.T) {
	_, _, err := parse(t, info01, "-v", "quick", "")
	if !errors.Is(err, ErrStrayArgs) {
		t.Fatalf("err = %v, want ErrStrayArgs", err)
	}
	want := `go run ./chapters/01: unexpected argument "quick" ""; the chapter takes only flags (see -h)`
	if err.Error() != want {
		t.Errorf("error:\n%s\nwant:\n%s", err, want)
	}
}

func TestParseChecksListen(t *testing.T) {
	for _, tc := range []struct {
		info Info
		args []string
		ok   bool
	}{
		{info01, []string{"-listen", "127.0.0.1:9000"}, true},
		{info01, []string{"-listen", ":9000"}, true},
		{info01, []string{"-listen", "./fpm.sock"}, true},
		{info01, []string{"-listen", "9000"}, false},
		{info01, []string{"-listen", "localhost:"}, false},
		{Info{Number: "02"}, nil, true}, // no -serve, so no address needed
		{Info{Number: "02"}, []string{"-serve"}, false},
	} {
		_, _, err := parse(t, tc.info, tc.args...)
		if tc.ok && err != nil {
			t.Errorf("%v: %v", tc.args, err)
		}
		if !tc.ok && !errors.Is(err, ErrBadListen) {
			t.Errorf("%v: err = %v, want ErrBadListen", tc.args, err)
		}
	}
}

func TestParseBadListenError(t *testing.T) {
	_, _, err := parse(t, info01, "-listen", "9000")
	want := `go run ./chapters/01: bad -listen address "9000": want host:port (127.0.0.1:9000) or a unix socket path containing '/'`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}

func TestUsage(t *testing.T) {
	_, out, err := parse(t, info01, "-h")
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{
		"Chapter 01 · FastCGI: one worker, one request at a time\n\n",
		"Usage: go run ./chapters/01 [flags]\n\n",
		info01.About + "\n\nFlags:\n",
		"  -listen ADDR\n",
		`(default "127.0.0.1:9001")`,
		"  -quick\n    \trun the shortest version that still shows the lesson",
		"  -serve\n    \tinstead of the walkthrough",
		"  -v\tverbose:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("-h output lacks %q; got:\n%s", want, out)
		}
	}
}

func TestIsUnixAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"/run/php/fpm.sock": true,
		"./fpm.sock":        true,
		"tmp/fpm.sock":      true,
		"127.0.0.1:9000":    false,
		"[::1]:9000":        false,
		":9000":             false,
		"fpm.sock":          false, // ambiguous, so it must be written ./fpm.sock
		"":                  false,
	} {
		if got := IsUnixAddr(addr); got != want {
			t.Errorf("IsUnixAddr(%q) = %v, want %v", addr, got, want)
		}
	}
}

// TestParseExitsOnStrayArgs runs Parse for real, in a child process, since
// it exits: status 2 and a one-line error on stderr.
func TestParseExitsOnStrayArgs(t *testing.T) {
	if os.Getenv("CHAPTER_PARSE_HELPER") == "1" {
		os.Args = []string{"chapter", "-quick", "stray"}
		flag.CommandLine = flag.NewFlagSet(os.Args[0], flag.ExitOnError)
		Parse(info01)
		os.Exit(0) // Parse should not have returned
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestParseExitsOnStrayArgs$")
	cmd.Env = append(os.Environ(), "CHAPTER_PARSE_HELPER=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("Parse with a stray argument: %v, want exit status 2", err)
	}
	want := `go run ./chapters/01: unexpected argument "stray"; the chapter takes only flags (see -h)` + "\n"
	if got := stderr.String(); got != want {
		t.Errorf("stderr:\n%q\nwant:\n%q", got, want)
	}
}

// A chapter with nothing to serve refuses -serve with its reason, and
// runs normally without it.
func TestParseNoServe(t *testing.T) {
	info := Info{Number: "11", NoServe: "the chapter runs its tasks in-process"}
	_, _, err := parse(t, info, "-serve")
	if !errors.Is(err, ErrNoServe) {
		t.Fatalf("-serve: got %v, want ErrNoServe", err)
	}
	want := "go run ./chapters/11: -serve: nothing to serve: the chapter runs its tasks in-process"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	opts, _, err := parse(t, info, "-quick")
	if err != nil || !opts.Quick {
		t.Errorf("-quick: %v, %+v", err, opts)
	}
}
