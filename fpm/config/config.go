// Package config reads php-fpm.conf and its pool.d files: the syntax,
// directive names, defaults and checks of php-fpm (sapi/fpm/fpm/fpm_conf.c),
// so that an operator's configuration means the same to corofpm, and a
// mistake gets the message php-fpm would give, with its file and line.
//
// The syntax is php-fpm's INI dialect:
//
//	; a comment, and so is a line starting with #
//	[global]
//	pid = run/corofpm.pid
//	include = pool.d/*.conf      ; a glob, relative to this file's directory
//
//	[www]                        ; a pool
//	listen = 127.0.0.1:9000      ; host:port, a bare port, or a unix socket path
//	pm = dynamic
//	pm.max_children = 5
//	request_terminate_timeout = 30s   ; s, m, h, d; a plain number is seconds
//	access.log = log/$pool.access.log ; $pool is the pool's name
//	env[APP_ENV] = "production"
//
// Unlike php-fpm, which stops at the first problem, Load reports every
// problem it finds, one a line.
package config

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is a whole configuration: the main file and what it includes.
type Config struct {
	// File is the main configuration file, as given to Load.
	File string
	// Global holds the [global] section: the master's settings.
	Global Global
	// Pools are the pools in the order they were defined; each has its own
	// listening socket, process manager and workers.
	Pools []Pool
	// Warnings are lines php-fpm would log as WARNING or NOTICE and go on:
	// a php-fpm directive corofpm does not implement, an include pattern
	// that matches nothing, a value php-fpm corrects by itself.
	Warnings []string
}

// Global is the [global] section.
type Global struct {
	// Pid is the file the master writes its pid to; empty for none.
	Pid string
	// ErrorLog is the master's log file; empty means standard error.
	ErrorLog string
	// LogLevel is the least severe level logged: alert, error, warning,
	// notice (the default) or debug.
	LogLevel string
	// EmergencyRestartThreshold and EmergencyRestartInterval: when that many
	// workers die of a signal within the interval, the master reloads
	// itself, on the theory that something shared (an opcode cache) is
	// corrupt. 0 turns it off (the default).
	EmergencyRestartThreshold int
	EmergencyRestartInterval  time.Duration
	// ProcessControlTimeout is how long workers get to react to a signal
	// from the master (a graceful stop) before they are killed; 0 waits for
	// ever.
	ProcessControlTimeout time.Duration
	// Daemonize sends the master to the background (yes by default; the -F
	// flag overrides it).
	Daemonize bool
}

// PM is a pool's process manager: how the number of workers follows the load.
type PM string

const (
	// Static keeps pm.max_children workers at all times.
	Static PM = "static"
	// Dynamic keeps between pm.min_spare_servers and pm.max_spare_servers
	// idle workers, up to pm.max_children in all.
	Dynamic PM = "dynamic"
	// Ondemand starts workers when connections wait and stops those idle
	// for pm.process_idle_timeout.
	Ondemand PM = "ondemand"
)

// WorkerModel is how a worker serves requests.
type WorkerModel string

const (
	// Blocking workers serve one request at a time, php-fpm's model.
	Blocking WorkerModel = "blocking"
	// Coroutine workers serve up to worker.coroutines requests at once,
	// each in a coroutine that yields while it waits for IO.
	Coroutine WorkerModel = "coroutine"
)

// Pool is one [name] section: a listening socket and the workers behind it.
type Pool struct {
	// Name is the section name, which $pool expands to.
	Name string
	// Listen is the address as written (a relative unix socket path made
	// relative to the file's directory); ListenAddress gives it in the form
	// net/sock takes.
	Listen string
	// ListenBacklog is listen(2)'s backlog: connections the kernel queues
	// while every worker is busy (511 by default).
	ListenBacklog int
	// ListenOwner, ListenGroup and ListenMode set a unix socket's owner and
	// permissions, so that only the web server may connect (0660 by default).
	ListenOwner string
	ListenGroup string
	ListenMode  os.FileMode
	// ListenAllowedClients, when not empty, are the only peers a TCP socket
	// serves; Allowed checks a peer against them.
	ListenAllowedClients []netip.Addr
	// PM is the process manager; required.
	PM PM
	// MaxChildren is the most workers the pool runs at once; required.
	MaxChildren int
	// StartServers, MinSpareServers and MaxSpareServers shape a dynamic
	// pool: workers at start, and the bounds on idle workers. StartServers
	// defaults to MinSpare + (MaxSpare - MinSpare)/2.
	StartServers    int
	MinSpareServers int
	MaxSpareServers int
	// MaxSpawnRate caps how many workers a dynamic pool starts in one
	// maintenance round, the count doubling each round up to it (32).
	MaxSpawnRate int
	// ProcessIdleTimeout is how long an ondemand worker may idle (10s).
	ProcessIdleTimeout time.Duration
	// MaxRequests ends a worker after that many requests, so that a leak
	// cannot grow it for ever; 0 for never.
	MaxRequests int
	// StatusPath and PingPath are the URIs the pool answers itself, with its
	// status page and with PingResponse ("pong"); empty turns them off.
	StatusPath   string
	PingPath     string
	PingResponse string
	// RequestTerminateTimeout kills a worker whose request runs longer; 0
	// for never.
	RequestTerminateTimeout time.Duration
	// RequestSlowlogTimeout writes the stack of a request running longer to
	// Slowlog; 0 for never.
	RequestSlowlogTimeout time.Duration
	Slowlog               string
	// CatchWorkersOutput sends what workers write to stdout and stderr to
	// the master's log instead of /dev/null.
	CatchWorkersOutput bool
	// AccessLog is the file requests are logged to, one line each in
	// AccessFormat (php-fpm's %-codes); empty for no access log.
	AccessLog    string
	AccessFormat string
	// Env is set in every worker's environment. A value starting with $ is
	// kept as written: php-fpm takes it from the master's environment.
	Env map[string]string
	// WorkerModel is how the pool's workers serve (blocking by default).
	WorkerModel WorkerModel
	// WorkerCoroutines is how many requests a coroutine worker serves at
	// once (128); meaningless for blocking workers.
	WorkerCoroutines int
}

// Load reads the configuration file at path and every file it includes,
// and checks it. The error lists every problem found, one a line; each is
// an *Error (see Errors).
func Load(path string) (*Config, error) { return LoadPrefix(path, "") }

// LoadPrefix is Load with relative paths in the configuration (pid,
// error_log, slowlog, access.log, unix sockets) taken relative to prefix
// rather than to their file's directory: php-fpm's -p.
func LoadPrefix(path, prefix string) (*Config, error) {
	cfg, err := load(path, prefix)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// Parse reads a configuration from data, named name in messages. Includes
// are read from the file system, relative to name's directory.
func Parse(name string, data []byte) (*Config, error) {
	cfg, err := parse(name, data, osFiles{}, "")
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// load is Load, keeping what was read even when it is wrong: Test prints
// its warnings beside the errors.
func load(path, prefix string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: "failed to open configuration file: " + err.Error(), Err: err}
	}
	return parse(path, data, osFiles{}, prefix)
}

// Test checks the configuration file at path the way `php-fpm -t` does and
// returns what it prints: the warnings, every error, and the verdict
//
//	NOTICE: configuration file /etc/corofpm/fpm.conf test is successful
//
// The error is nil when the configuration is good, so that the caller can
// exit 0 or 1 as php-fpm does.
func Test(path string) (string, error) { return TestPrefix(path, "") }

// TestPrefix is Test with a prefix, as LoadPrefix.
func TestPrefix(path, prefix string) (string, error) {
	var b strings.Builder
	cfg, err := load(path, prefix)
	if cfg != nil {
		for _, w := range cfg.Warnings {
			fmt.Fprintf(&b, "WARNING: %s\n", w)
		}
	}
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(&b, "ERROR: %s\n", line)
		}
		fmt.Fprintf(&b, "ERROR: configuration file %s test failed\n", path)
		return b.String(), err
	}
	fmt.Fprintf(&b, "NOTICE: configuration file %s test is successful\n", path)
	return b.String(), nil
}

// Allowed reports whether a peer ("127.0.0.1:51012", "[::1]:40000", as
// net/sock names it) may use the pool under listen.allowed_clients. With no
// list, everyone may; a unix socket's peers always may, as in php-fpm, since
// its file permissions guard it. An IPv4 client on an IPv6 socket
// (::ffff:127.0.0.1) matches its IPv4 address.
func (p *Pool) Allowed(peer string) bool {
	if len(p.ListenAllowedClients) == 0 || strings.HasPrefix(peer, "unix:") {
		return true
	}
	addr, err := netip.ParseAddr(peer)
	if ap, perr := netip.ParseAddrPort(peer); perr == nil {
		addr, err = ap.Addr(), nil
	}
	if err != nil {
		return false
	}
	addr = addr.Unmap().WithZone("")
	for _, a := range p.ListenAllowedClients {
		if a.Unmap().WithZone("") == addr {
			return true
		}
	}
	return false
}

// ListenAddress is Listen in the form net/sock.Listen takes: a unix socket
// path, or ip:port. A bare port listens on every IPv4 address (php-fpm tries
// [::] first and falls back to 0.0.0.0; corofpm does not depend on IPv6
// being enabled), and localhost is 127.0.0.1.
func (p *Pool) ListenAddress() string {
	kind, host, port := splitListen(p.Listen)
	n, err := strconv.ParseUint(port, 10, 16)
	if kind == unixSocket || err != nil {
		return p.Listen
	}
	addr := netip.IPv4Unspecified()
	switch host {
	case "":
	case "localhost":
		addr = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	default:
		if addr, err = netip.ParseAddr(host); err != nil {
			return p.Listen
		}
	}
	return netip.AddrPortFrom(addr, uint16(n)).String()
}

// errorList joins problems so that the error prints one a line.
func errorList(errs []*Error) error {
	if len(errs) == 0 {
		return nil
	}
	list := make([]error, len(errs))
	for i, e := range errs {
		list[i] = e
	}
	return errors.Join(list...)
}
