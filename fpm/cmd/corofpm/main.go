// Command corofpm is the complete classic FPM: a master and pools of
// blocking workers, configured with php-fpm.conf syntax, behind an
// unmodified nginx fastcgi_pass.
//
//	corofpm -y /etc/corofpm/fpm.conf -t    # test the configuration
//	corofpm -y /etc/corofpm/fpm.conf -F    # run in the foreground
//	kill -USR2 $(cat fpm.pid)              # reload, keeping the sockets
//
// The scripts are Go functions (fpm/script): /hello.php, /sleep.php?ms=N,
// and /upstream.php when the pool sets env[UPSTREAM_URL].
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/corofpm/corofpm/fpm"
	"github.com/corofpm/corofpm/fpm/config"
	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/fpm/script"
)

// envDaemon marks the process a daemonizing corofpm started: it is the
// master, in a session of its own, and reports on fd 3 once it serves.
const envDaemon = "COROFPM_DAEMON"

func main() {
	// A worker is this program again: it serves the scripts and never
	// returns from here.
	proc.Main(fpm.Roles(script.Default(script.Blocking{}, os.Getenv("UPSTREAM_URL"))))
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("corofpm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		file       string
		prefix     string
		test       bool
		foreground bool
		background bool
	)
	for _, name := range []string{"y", "fpm-config"} {
		fs.StringVar(&file, name, "/etc/corofpm/fpm.conf", "the configuration `file` (php-fpm.conf syntax)")
	}
	for _, name := range []string{"p", "prefix"} {
		fs.StringVar(&prefix, name, "", "take relative paths in the configuration (pid, error_log, logs, sockets) from `dir` instead of each file's directory")
	}
	for _, name := range []string{"t", "test"} {
		fs.BoolVar(&test, name, false, "test the configuration file and exit: 0 when it is good, 1 when not")
	}
	for _, name := range []string{"F", "nodaemonize"} {
		fs.BoolVar(&foreground, name, false, "stay in the foreground, logging to stderr unless error_log is set (overrides daemonize)")
	}
	for _, name := range []string{"D", "daemonize"} {
		fs.BoolVar(&background, name, false, "run in the background as a daemon (overrides daemonize = no)")
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: corofpm [-y file] [-p dir] [-t] [-F|-D]\n\n"+
			"A FastCGI process manager in the manner of php-fpm: it reads php-fpm.conf\n"+
			"syntax and answers the same signals (INT/TERM fast stop, QUIT graceful\n"+
			"stop, USR1 reopen logs, USR2 reload keeping the listening sockets).\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "corofpm: unexpected argument %q (see -h)\n", fs.Arg(0))
		return 2
	}
	if test {
		out, err := config.TestPrefix(file, prefix)
		fmt.Fprint(stderr, out)
		if err != nil {
			return 1
		}
		return 0
	}
	cfg, err := config.LoadPrefix(file, prefix)
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "ERROR: %s\n", line)
		}
		fmt.Fprintf(stderr, "ERROR: FPM initialization failed\n")
		return 1
	}
	daemon := (cfg.Global.Daemonize || background) && !foreground
	if daemon && os.Getenv(envDaemon) == "" {
		return daemonize(args, stderr)
	}
	log, err := openLog(cfg, daemon, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "ERROR: %v\n", err)
		return 1
	}
	defer log.Close()
	m := &fpm.Master{Config: cfg, Log: log}
	if daemon {
		m.Ready = reportReady
	}
	if err := m.Run(); err != nil {
		log.Printf(fpm.Error, "%v", err)
		if daemon {
			reportFailure(err)
		}
		return 1
	}
	return 0
}

// openLog opens error_log, or uses stderr in the foreground when none is
// set; a daemon without error_log logs beside its configuration file.
func openLog(cfg *config.Config, daemon bool, stderr io.Writer) (*fpm.Log, error) {
	level, err := fpm.ParseLevel(cfg.Global.LogLevel)
	if err != nil {
		return nil, err
	}
	path := cfg.Global.ErrorLog
	if path == "" && daemon {
		path = filepath.Join(filepath.Dir(cfg.File), "corofpm.log")
	}
	if path == "" {
		return fpm.NewLog(stderr, level), nil
	}
	return fpm.OpenLog(path, level)
}
