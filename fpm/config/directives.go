package config

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// setter stores one directive's value in a section, or says what is wrong
// with the value, in php-fpm's words.
type setter[T any] func(section *T, value string) error

// globalDirectives are the [global] section's directives, by lower-case name
// (php-fpm compares names without case).
var globalDirectives = map[string]setter[Global]{
	"pid":                         text(func(g *Global) *string { return &g.Pid }),
	"error_log":                   text(func(g *Global) *string { return &g.ErrorLog }),
	"log_level":                   logLevel,
	"emergency_restart_threshold": integer(func(g *Global) *int { return &g.EmergencyRestartThreshold }),
	"emergency_restart_interval":  duration(func(g *Global) *time.Duration { return &g.EmergencyRestartInterval }),
	"process_control_timeout":     duration(func(g *Global) *time.Duration { return &g.ProcessControlTimeout }),
	"daemonize":                   boolean(func(g *Global) *bool { return &g.Daemonize }),
}

// poolDirectives are a pool section's directives.
var poolDirectives = map[string]setter[Pool]{
	"listen":                    listen,
	"listen.backlog":            integer(func(p *Pool) *int { return &p.ListenBacklog }),
	"listen.owner":              text(func(p *Pool) *string { return &p.ListenOwner }),
	"listen.group":              text(func(p *Pool) *string { return &p.ListenGroup }),
	"listen.mode":               listenMode,
	"listen.allowed_clients":    allowedClients,
	"pm":                        processManager,
	"pm.max_children":           integer(func(p *Pool) *int { return &p.MaxChildren }),
	"pm.start_servers":          integer(func(p *Pool) *int { return &p.StartServers }),
	"pm.min_spare_servers":      integer(func(p *Pool) *int { return &p.MinSpareServers }),
	"pm.max_spare_servers":      integer(func(p *Pool) *int { return &p.MaxSpareServers }),
	"pm.max_spawn_rate":         integer(func(p *Pool) *int { return &p.MaxSpawnRate }),
	"pm.process_idle_timeout":   duration(func(p *Pool) *time.Duration { return &p.ProcessIdleTimeout }),
	"pm.max_requests":           integer(func(p *Pool) *int { return &p.MaxRequests }),
	"pm.status_path":            text(func(p *Pool) *string { return &p.StatusPath }),
	"ping.path":                 text(func(p *Pool) *string { return &p.PingPath }),
	"ping.response":             text(func(p *Pool) *string { return &p.PingResponse }),
	"request_terminate_timeout": duration(func(p *Pool) *time.Duration { return &p.RequestTerminateTimeout }),
	"request_slowlog_timeout":   duration(func(p *Pool) *time.Duration { return &p.RequestSlowlogTimeout }),
	"slowlog":                   text(func(p *Pool) *string { return &p.Slowlog }),
	"catch_workers_output":      boolean(func(p *Pool) *bool { return &p.CatchWorkersOutput }),
	"access.log":                text(func(p *Pool) *string { return &p.AccessLog }),
	"access.format":             text(func(p *Pool) *string { return &p.AccessFormat }),
	"worker.model":              workerModel,
	"worker.coroutines":         integer(func(p *Pool) *int { return &p.WorkerCoroutines }),
}

// notImplemented are php-fpm directives corofpm accepts and ignores with a
// warning, so that a real php-fpm configuration loads: they concern PHP
// itself (php_value), privileges (user, chroot) or the host (rlimit_*),
// which a Go teaching server has no use for or leaves to its supervisor.
var notImplemented = map[string]bool{
	// [global]
	"syslog.ident": true, "syslog.facility": true, "log_buffering": true, "log_limit": true,
	"process.max": true, "events.mechanism": true, "systemd_interval": true,
	// pools
	"prefix": true, "user": true, "group": true, "chroot": true, "chdir": true,
	"listen.acl_users": true, "listen.acl_groups": true, "process.dumpable": true,
	"pm.status_listen": true, "request_slowlog_trace_depth": true,
	"request_terminate_timeout_track_finished": true, "decorate_workers_output": true,
	"clear_env": true, "security.limit_extensions": true, "apparmor_hat": true,
	// both
	"rlimit_files": true, "rlimit_core": true, "process.priority": true,
	// arrays: php.ini settings for the PHP interpreter
	"php_value": true, "php_flag": true, "php_admin_value": true, "php_admin_flag": true,
}

// Defaults as php-fpm's (fpm_conf.c), and corofpm's own for worker.*.
const (
	defaultBacklog      = 511 // FPM_BACKLOG_DEFAULT on Linux
	defaultMode         = 0o660
	defaultSpawnRate    = 32
	defaultIdleTimeout  = 10 * time.Second
	defaultPingResponse = "pong"
	defaultAccessFormat = `%R - %u %t "%m %r" %s`
	defaultCoroutines   = 128
)

func text[T any](field func(*T) *string) setter[T] {
	return func(t *T, v string) error { *field(t) = v; return nil }
}

func integer[T any](field func(*T) *int) setter[T] {
	return func(t *T, v string) error {
		n, err := parseInt(v)
		*field(t) = n
		return err
	}
}

func duration[T any](field func(*T) *time.Duration) setter[T] {
	return func(t *T, v string) error {
		d, err := parseTime(v)
		*field(t) = d
		return err
	}
}

func boolean[T any](field func(*T) *bool) setter[T] {
	return func(t *T, v string) error {
		switch strings.ToLower(v) {
		case "yes", "on", "true", "1":
			*field(t) = true
		case "no", "off", "false", "0", "":
			*field(t) = false
		default:
			return fmt.Errorf("invalid boolean value '%s' (yes or no)", v)
		}
		return nil
	}
}

// parseInt takes digits only: php-fpm's integers are counts and sizes, and
// it refuses a sign or a suffix.
func parseInt(v string) (int, error) {
	n, err := strconv.ParseUint(v, 10, 31) // no sign, no underscores
	if err != nil {
		return 0, fmt.Errorf("'%s' is not a valid number (greater or equal than zero)", v)
	}
	return int(n), nil
}

// parseTime reads php-fpm's times: a number of seconds with an optional
// suffix s, m, h or d ("30s", "5m", "1d", "20").
func parseTime(v string) (time.Duration, error) {
	if v == "" {
		return 0, errors.New("invalid time value ''")
	}
	unit, num := time.Second, v[:len(v)-1]
	switch v[len(v)-1] {
	case 's':
	case 'm':
		unit = time.Minute
	case 'h':
		unit = time.Hour
	case 'd':
		unit = 24 * time.Hour
	default:
		if c := v[len(v)-1]; c < '0' || c > '9' {
			return 0, fmt.Errorf("unknown suffix used in time value '%s' (s, m, h or d)", v)
		}
		num = v
	}
	n, err := parseInt(num)
	if err != nil || n > math.MaxInt32/int(unit/time.Second) {
		return 0, fmt.Errorf("invalid time value '%s'", v)
	}
	return time.Duration(n) * unit, nil
}

func logLevel(g *Global, v string) error {
	switch l := strings.ToLower(v); l {
	case "alert", "error", "warning", "notice", "debug":
		g.LogLevel = l
	case "warn":
		g.LogLevel = "warning"
	default:
		return fmt.Errorf("invalid value '%s' for 'log_level' (alert, error, warning, notice or debug)", v)
	}
	return nil
}

func processManager(p *Pool, v string) error {
	switch pm := PM(strings.ToLower(v)); pm {
	case Static, Dynamic, Ondemand:
		p.PM = pm
	default:
		return fmt.Errorf("invalid process manager '%s' (static, dynamic or ondemand)", v)
	}
	return nil
}

func workerModel(p *Pool, v string) error {
	switch m := WorkerModel(strings.ToLower(v)); m {
	case Blocking, Coroutine:
		p.WorkerModel = m
	default:
		return fmt.Errorf("invalid worker model '%s' (blocking or coroutine)", v)
	}
	return nil
}

// listenKind is what kind of socket a listen address names.
type listenKind int

const (
	tcpSocket listenKind = iota
	unixSocket
)

// splitListen tells a listen address's kind as php-fpm does
// (fpm_sockets_domain_from_address): with a ':' it is host:port, split at
// the last ':' and the host unbracketed; all digits, a port on every
// address; anything else, a unix socket path.
func splitListen(v string) (kind listenKind, host, port string) {
	if i := strings.LastIndexByte(v, ':'); i >= 0 {
		host = v[:i]
		if len(host) >= 2 && host[0] == '[' && host[len(host)-1] == ']' {
			host = host[1 : len(host)-1]
		}
		return tcpSocket, host, v[i+1:]
	}
	if v != "" && strings.Trim(v, "0123456789") == "" {
		return tcpSocket, "", v
	}
	return unixSocket, "", ""
}

// listen checks the address; an empty one is left for the pool check that
// reports a pool without listen.
func listen(p *Pool, v string) error {
	p.Listen = v
	kind, host, port := splitListen(v)
	if kind == unixSocket {
		return nil
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("invalid port value '%s'", port)
	}
	if host == "" || host == "localhost" {
		return nil
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return fmt.Errorf("'%s' is not an IP address (corofpm resolves no host names but localhost)", host)
	}
	return nil
}

// listenMode reads an octal mode such as 0660, as chmod does.
func listenMode(p *Pool, v string) error {
	n, err := strconv.ParseUint(v, 8, 32)
	if err != nil || n > 0o777 {
		return fmt.Errorf("invalid mode '%s' (octal permissions such as 0660)", v)
	}
	p.ListenMode = os.FileMode(n)
	return nil
}

// allowedClients reads a comma-separated list of IP addresses; an empty list
// lets every client in.
func allowedClients(p *Pool, v string) error {
	p.ListenAllowedClients = nil
	if strings.TrimSpace(v) == "" {
		return nil
	}
	var wrong []string
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		addr, err := netip.ParseAddr(s)
		if err != nil {
			wrong = append(wrong, "'"+s+"'")
			continue
		}
		p.ListenAllowedClients = append(p.ListenAllowedClients, addr)
	}
	if wrong != nil {
		return fmt.Errorf("wrong IP address %s in listen.allowed_clients", strings.Join(wrong, ", "))
	}
	return nil
}
