// Package chapter is the command line every chapter shares, so that each
// one is run the same way:
//
//	go run ./chapters/01              the walkthrough, then exit
//	go run ./chapters/01 -quick       the shortest run that still shows the lesson
//	go run ./chapters/01 -v           with the details under each step
//	go run ./chapters/01 -serve       keep the server up to poke at; ^C stops it
//	go run ./chapters/01 -serve -listen /tmp/fpm.sock
//
// A chapter adds its own flags to flag.CommandLine, then calls Parse.
package chapter

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/corofpm/corofpm/net/sock"
)

// Info describes a chapter for its -h text and its defaults.
type Info struct {
	// Number is the chapter's directory under chapters/, such as "01", so
	// that -h shows the very command that runs it.
	Number string
	// Title is the chapter's one-line title, the same one its narration's
	// banner shows, so the reader recognises it in -h.
	Title string
	// About is a few lines telling what the chapter shows, printed by -h
	// for a reader deciding which chapter to run.
	About string
	// DefaultListen is where -serve listens unless -listen says otherwise.
	// Each chapter has its own, so that two chapters served at once do not
	// collide. Empty means -serve needs an explicit -listen.
	DefaultListen string
	// NoServe, when set, says why the chapter has nothing to serve (it
	// runs everything in-process): -serve then fails with ErrNoServe and
	// this reason, in one line, and exit status 2.
	NoServe string
}

// Options are the flags every chapter accepts.
type Options struct {
	// Quick asks for the shortest run that still shows the lesson: fewer
	// requests, shorter waits. Tests and the book's capture use it.
	Quick bool
	// Serve runs the server instead of the walkthrough and keeps it up,
	// with a note on how to poke it (curl, cgi-fcgi), until SIGINT or
	// SIGTERM: the reader learns most by poking it.
	Serve bool
	// Listen is where -serve listens: host:port, such as 127.0.0.1:9000, or
	// a unix socket path, told apart by its '/'. Parse has checked its form.
	Listen string
	// Verbose lets the narrator's Detail lines through: the syscalls and
	// bytes under each step, for a reader who wants the mechanics.
	Verbose bool
}

// Network is the network to pass to net.Listen with Listen: "unix" for a
// socket path, "tcp" otherwise.
func (o *Options) Network() string {
	if IsUnixAddr(o.Listen) {
		return "unix"
	}
	return "tcp"
}

// ErrStrayArgs reports arguments that are not flags. A chapter takes none,
// and a forgotten dash (go run ./chapters/01 quick) should not pass
// silently.
var ErrStrayArgs = errors.New("unexpected argument")

// ErrNoServe reports -serve given to a chapter that has nothing to serve.
var ErrNoServe = errors.New("-serve: nothing to serve")

// ErrBadListen reports a -listen value that is neither host:port nor a
// unix socket path, caught before the chapter spends time forking.
var ErrBadListen = errors.New("bad -listen address")

// Parse registers the common flags on flag.CommandLine, next to any the
// chapter defined before calling it, and parses the command line. -h
// prints how to run the chapter, what it shows and every flag. A bad flag
// exits with status 2 after the usage; a stray argument or a malformed
// -listen, or -serve where Info.NoServe is set, exits with status 2 after
// a one-line error.
func Parse(info Info) *Options {
	opts, err := ParseArgs(flag.CommandLine, info, os.Args[1:])
	switch {
	case err == nil:
		return opts
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0) // -h asked for the usage, which is printed: a success
	case errors.Is(err, ErrStrayArgs), errors.Is(err, ErrBadListen), errors.Is(err, ErrNoServe):
		fmt.Fprintln(flag.CommandLine.Output(), err)
	}
	// The flag package has printed its own errors, with the usage.
	os.Exit(2)
	return nil
}

// ParseArgs is Parse on a given flag set and arguments, for tests and for
// a chapter that runs another chapter's command line. It returns what
// fs.Parse returns (flag.ErrHelp for -h when fs continues on error), or an
// error wrapping ErrStrayArgs or ErrBadListen.
func ParseArgs(fs *flag.FlagSet, info Info, args []string) (*Options, error) {
	cmd := "go run ./chapters/" + info.Number
	opts := &Options{}
	fs.BoolVar(&opts.Quick, "quick", false,
		"run the shortest version that still shows the lesson (fewer requests, shorter waits)")
	serveUsage := "instead of the walkthrough, start the server, print how to poke it (curl, cgi-fcgi) and keep it up; ^C stops it"
	if info.NoServe != "" {
		serveUsage = "not in this chapter: " + info.NoServe
	}
	fs.BoolVar(&opts.Serve, "serve", false, serveUsage)
	fs.StringVar(&opts.Listen, "listen", info.DefaultListen,
		"where -serve listens: `ADDR` is host:port (127.0.0.1:9000) or a unix socket path (contains '/')")
	fs.BoolVar(&opts.Verbose, "v", false,
		"verbose: also print the details under each step (syscalls, bytes on the wire)")
	fs.Usage = func() { usage(fs, info, cmd) }

	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%s: %w %s; the chapter takes only flags (see -h)",
			cmd, ErrStrayArgs, quoteAll(fs.Args()))
	}
	if opts.Serve && info.NoServe != "" {
		return nil, fmt.Errorf("%s: %w: %s", cmd, ErrNoServe, info.NoServe)
	}
	if err := checkListen(opts); err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	return opts, nil
}

// checkListen checks the form of -listen only; whether the address is
// free is for net.Listen to say, when the chapter listens.
func checkListen(o *Options) error {
	switch {
	case o.Listen == "" && o.Serve:
		return fmt.Errorf("%w: -serve needs -listen ADDR (this chapter has no default)", ErrBadListen)
	case o.Listen == "" || IsUnixAddr(o.Listen):
		return nil
	}
	if _, port, err := net.SplitHostPort(o.Listen); err != nil || port == "" {
		return fmt.Errorf("%w %q: want host:port (127.0.0.1:9000) or a unix socket path containing '/'",
			ErrBadListen, o.Listen)
	}
	return nil
}

// IsUnixAddr reports whether addr names a unix socket path rather than a
// host:port: sock.IsUnix, the one rule the whole project uses.
func IsUnixAddr(addr string) bool { return sock.IsUnix(addr) }

// usage prints the chapter's -h text to fs's output:
//
//	Chapter 01 · FastCGI: one worker, one request at a time
//
//	Usage: go run ./chapters/01 [flags]
//
//	<About>
//
//	Flags:
//	  -listen ADDR ...
func usage(fs *flag.FlagSet, info Info, cmd string) {
	w := fs.Output()
	if info.Title != "" {
		fmt.Fprintf(w, "Chapter %s · %s\n\n", info.Number, info.Title)
	}
	fmt.Fprintf(w, "Usage: %s [flags]\n\n", cmd)
	if about := strings.TrimSpace(info.About); about != "" {
		fmt.Fprintf(w, "%s\n\n", about)
	}
	fmt.Fprintln(w, "Flags:")
	fs.PrintDefaults()
}

// quoteAll quotes each argument, so that an empty or spaced one is seen.
func quoteAll(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = fmt.Sprintf("%q", a)
	}
	return strings.Join(q, " ")
}
