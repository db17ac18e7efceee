package config

import (
	"path/filepath"
	"strings"
	"time"
)

// finish checks what was read, the way fpm_conf_process_all_pools does,
// and builds the Config. Relative paths are made relative to the prefix
// when one was given (php-fpm's -p), else to the directory of the file they
// were written in.
func (p *parser) finish(name string) *Config {
	cfg := &Config{File: name, Global: p.global.v}
	cfg.Global.Pid = p.resolve(cfg.Global.Pid, p.global.set["pid"])
	cfg.Global.ErrorLog = p.resolve(cfg.Global.ErrorLog, p.global.set["error_log"])
	if len(p.pools) == 0 {
		p.errs = append(p.errs, &Error{File: name, Err: ErrNoPool,
			Msg: "no pool defined: at least one pool section must be specified in config file"})
	}
	for _, s := range p.pools {
		p.check(s)
	}
	p.checkListenUnique()
	for _, s := range p.pools {
		cfg.Pools = append(cfg.Pools, s.v)
	}
	cfg.Warnings = p.warns
	return cfg
}

// check checks one pool and settles its defaults and paths. A directive
// whose value was refused is not checked again.
func (p *parser) check(s *section[Pool]) {
	c := &s.v
	if c.Listen == "" && s.valid("listen") {
		p.fail(s.where("listen"), c.Name, "no listen address has been defined")
	}
	if c.PM == "" && s.valid("pm") {
		p.fail(s.at, c.Name, "the process manager is missing (static, dynamic or ondemand)")
	}
	if c.MaxChildren < 1 && s.valid("pm.max_children") {
		p.fail(s.where("pm.max_children"), c.Name, "pm.max_children must be a positive value")
	}
	switch c.PM {
	case Dynamic:
		p.checkDynamic(s)
	case Ondemand:
		p.checkOndemand(s)
	}
	p.checkURIs(s)
	p.checkSlowlog(s)
	if c.WorkerCoroutines < 1 && s.valid("worker.coroutines") {
		p.fail(s.where("worker.coroutines"), c.Name, "worker.coroutines must be a positive value")
	}
	if _, set := s.set["worker.coroutines"]; set && c.WorkerModel == Blocking {
		p.warn(s.where("worker.coroutines"), "[%s] worker.coroutines has no effect with worker.model = blocking", c.Name)
	}
	if kind, _, _ := splitListen(c.Listen); kind == unixSocket && c.Listen != "" {
		c.Listen = p.resolve(c.Listen, s.set["listen"])
		if !strings.Contains(c.Listen, "/") {
			c.Listen = "./" + c.Listen // net/sock takes a path by its '/'
		}
	}
	c.Slowlog = p.resolve(c.Slowlog, s.set["slowlog"])
	c.AccessLog = p.resolve(c.AccessLog, s.set["access.log"])
}

// checkDynamic checks the bounds a dynamic pool moves within, each message
// php-fpm's; one that only follows from an earlier one is left out.
func (p *parser) checkDynamic(s *section[Pool]) {
	c := &s.v
	if !s.valid("pm.max_children", "pm.start_servers", "pm.min_spare_servers", "pm.max_spare_servers", "pm.max_spawn_rate") {
		return
	}
	if c.MinSpareServers < 1 {
		p.fail(s.where("pm.min_spare_servers"), c.Name, "pm.min_spare_servers(%d) must be a positive value", c.MinSpareServers)
	}
	if c.MaxSpareServers < 1 {
		p.fail(s.where("pm.max_spare_servers"), c.Name, "pm.max_spare_servers(%d) must be a positive value", c.MaxSpareServers)
	}
	if c.MaxSpawnRate < 1 {
		p.fail(s.where("pm.max_spawn_rate"), c.Name, "pm.max_spawn_rate must be a positive value")
	}
	if c.MinSpareServers < 1 || c.MaxSpareServers < 1 || c.MaxChildren < 1 {
		return
	}
	switch {
	case c.MinSpareServers > c.MaxChildren || c.MaxSpareServers > c.MaxChildren:
		at := s.where("pm.max_spare_servers")
		if c.MinSpareServers > c.MaxChildren {
			at = s.where("pm.min_spare_servers")
		}
		p.fail(at, c.Name, "pm.min_spare_servers(%d) and pm.max_spare_servers(%d) cannot be greater than pm.max_children(%d)",
			c.MinSpareServers, c.MaxSpareServers, c.MaxChildren)
	case c.MaxSpareServers < c.MinSpareServers:
		p.fail(s.where("pm.max_spare_servers"), c.Name, "pm.max_spare_servers(%d) must not be less than pm.min_spare_servers(%d)",
			c.MaxSpareServers, c.MinSpareServers)
	case c.StartServers == 0: // php-fpm takes 0 for unset too
		c.StartServers = c.MinSpareServers + (c.MaxSpareServers-c.MinSpareServers)/2
	case c.StartServers < c.MinSpareServers || c.StartServers > c.MaxSpareServers:
		p.fail(s.where("pm.start_servers"), c.Name,
			"pm.start_servers(%d) must not be less than pm.min_spare_servers(%d) and not greater than pm.max_spare_servers(%d)",
			c.StartServers, c.MinSpareServers, c.MaxSpareServers)
	}
}

// checkOndemand checks an ondemand pool. Its workers are started from the
// listening socket's queue, so php-fpm raises a short backlog itself.
func (p *parser) checkOndemand(s *section[Pool]) {
	c := &s.v
	if c.ProcessIdleTimeout < time.Second && s.valid("pm.process_idle_timeout") {
		p.fail(s.where("pm.process_idle_timeout"), c.Name, "pm.process_idle_timeout(%ds) must be greater than 0s",
			int(c.ProcessIdleTimeout/time.Second))
	}
	if c.ListenBacklog < defaultBacklog && s.valid("listen.backlog") {
		p.warn(s.where("listen.backlog"), "[%s] listen.backlog(%d) was too low for the ondemand process manager. I updated it for you to %d.",
			c.Name, c.ListenBacklog, defaultBacklog)
		c.ListenBacklog = defaultBacklog
	}
	c.StartServers, c.MinSpareServers, c.MaxSpareServers = 0, 0, 0 // not used by ondemand
}

// checkURIs checks the status and ping URIs: nginx passes them as the
// script name, so they must look like one.
func (p *parser) checkURIs(s *section[Pool]) {
	c := &s.v
	for _, u := range []struct{ what, key, path string }{
		{"status", "pm.status_path", c.StatusPath},
		{"ping", "ping.path", c.PingPath},
	} {
		at := s.where(u.key)
		switch {
		case u.path == "":
		case u.path[0] != '/':
			p.fail(at, c.Name, "the %s path '%s' must start with a '/'", u.what, u.path)
		case len(u.path) < 2:
			p.fail(at, c.Name, "the %s path '%s' is not long enough", u.what, u.path)
		case strings.ContainsFunc(u.path, badURIChar):
			p.fail(at, c.Name, "the %s path '%s' must contain only the following characters '[alphanum]/_-.~'", u.what, u.path)
		}
	}
	if c.PingPath != "" && c.PingResponse == "" {
		p.fail(s.where("ping.response"), c.Name, "the ping response page '' is not long enough")
	}
}

func badURIChar(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/-_.~", r))
}

// checkSlowlog checks the two request timeouts and the slowlog file.
func (p *parser) checkSlowlog(s *section[Pool]) {
	c := &s.v
	if c.RequestSlowlogTimeout == 0 || !s.valid("request_slowlog_timeout", "request_terminate_timeout") {
		return
	}
	at := s.where("request_slowlog_timeout")
	if c.Slowlog == "" {
		p.fail(at, c.Name, "'slowlog' must be specified for use with 'request_slowlog_timeout'")
	}
	if c.RequestTerminateTimeout > 0 && c.RequestSlowlogTimeout > c.RequestTerminateTimeout {
		p.fail(at, c.Name, "'request_slowlog_timeout' (%ds) can't be greater than 'request_terminate_timeout' (%ds)",
			int(c.RequestSlowlogTimeout/time.Second), int(c.RequestTerminateTimeout/time.Second))
	}
}

// checkListenUnique refuses two pools on one address, compared in the form
// the socket is opened with, so that 9000 and 0.0.0.0:9000 clash too.
func (p *parser) checkListenUnique() {
	seen := map[string]string{}
	for _, s := range p.pools {
		if s.v.Listen == "" || !s.valid("listen") {
			continue
		}
		addr := s.v.ListenAddress()
		if first, ok := seen[addr]; ok {
			p.fail(s.where("listen"), s.v.Name, "unable to set listen address as it's already used in another pool '%s'", first)
			continue
		}
		seen[addr] = s.v.Name
	}
}

// resolve makes a relative path relative to the prefix, or to the
// directory of the file it was set in.
func (p *parser) resolve(path string, at pos) string {
	switch {
	case path == "" || filepath.IsAbs(path):
		return path
	case p.prefix != "":
		return filepath.Join(p.prefix, path)
	case at.file == "":
		return path
	}
	return filepath.Join(filepath.Dir(at.file), path)
}
