package config

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// minimal is the least a valid configuration needs: one pool, its address,
// its process manager and its size.
const minimal = "[www]\nlisten = 9000\npm = static\npm.max_children = 1\n"

// defaultPool is minimal's pool: php-fpm's defaults and corofpm's.
func defaultPool() Pool {
	return Pool{
		Name: "www", Listen: "9000", ListenBacklog: 511, ListenMode: 0o660,
		PM: Static, MaxChildren: 1, MaxSpawnRate: 32, ProcessIdleTimeout: 10 * time.Second,
		PingResponse: "pong", AccessFormat: `%R - %u %t "%m %r" %s`,
		WorkerModel: Blocking, WorkerCoroutines: 128,
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Parse("fpm.conf", []byte(minimal))
	require.NoError(t, err)
	assert.Equal(t, &Config{
		File:   "fpm.conf",
		Global: Global{LogLevel: "notice", Daemonize: true},
		Pools:  []Pool{defaultPool()},
	}, cfg)
}

// Each global directive, and each form its value may take.
func TestGlobalDirectives(t *testing.T) {
	for _, tt := range []struct {
		line string
		want func(*Global)
	}{
		{"pid = /run/corofpm.pid", func(g *Global) { g.Pid = "/run/corofpm.pid" }},
		{"pid = run/corofpm.pid", func(g *Global) { g.Pid = "etc/run/corofpm.pid" }},
		{`error_log = "/var/log/corofpm.log"`, func(g *Global) { g.ErrorLog = "/var/log/corofpm.log" }},
		{"error_log = '/var/log/a;b.log' ; a comment", func(g *Global) { g.ErrorLog = "/var/log/a;b.log" }},
		{"log_level = debug", func(g *Global) { g.LogLevel = "debug" }},
		{"log_level = WARN", func(g *Global) { g.LogLevel = "warning" }},
		{"log_level = alert", func(g *Global) { g.LogLevel = "alert" }},
		{"emergency_restart_threshold = 10", func(g *Global) { g.EmergencyRestartThreshold = 10 }},
		{"emergency_restart_interval = 1m", func(g *Global) { g.EmergencyRestartInterval = time.Minute }},
		{"emergency_restart_interval = 90", func(g *Global) { g.EmergencyRestartInterval = 90 * time.Second }},
		{"process_control_timeout = 10s", func(g *Global) { g.ProcessControlTimeout = 10 * time.Second }},
		{"process_control_timeout = 2h", func(g *Global) { g.ProcessControlTimeout = 2 * time.Hour }},
		{"process_control_timeout = 1d", func(g *Global) { g.ProcessControlTimeout = 24 * time.Hour }},
		{"daemonize = no", func(g *Global) { g.Daemonize = false }},
		{"daemonize = Off", func(g *Global) { g.Daemonize = false }},
		{"daemonize = 0", func(g *Global) { g.Daemonize = false }},
		{"daemonize = false", func(g *Global) { g.Daemonize = false }},
		{"daemonize = yes", func(g *Global) {}},
		{"DAEMONIZE = on", func(g *Global) {}},
		{"daemonize = true", func(g *Global) {}},
		{"daemonize = 1", func(g *Global) {}},
	} {
		t.Run(tt.line, func(t *testing.T) {
			cfg, err := Parse("etc/fpm.conf", []byte("[global]\n"+tt.line+"\n"+minimal))
			require.NoError(t, err)
			want := Global{LogLevel: "notice", Daemonize: true}
			tt.want(&want)
			assert.Equal(t, want, cfg.Global)
		})
	}
}

// Each pool directive, and each form its value may take.
func TestPoolDirectives(t *testing.T) {
	for _, tt := range []struct {
		line string
		want func(*Pool)
	}{
		{"listen = 127.0.0.1:9001", func(p *Pool) { p.Listen = "127.0.0.1:9001" }},
		{"listen = [::1]:9001", func(p *Pool) { p.Listen = "[::1]:9001" }},
		{"listen = localhost:9001", func(p *Pool) { p.Listen = "localhost:9001" }},
		{"listen = /run/corofpm/$pool.sock", func(p *Pool) { p.Listen = "/run/corofpm/www.sock" }},
		{"listen = www.sock", func(p *Pool) { p.Listen = "etc/www.sock" }},
		{"listen.backlog = 1024", func(p *Pool) { p.ListenBacklog = 1024 }},
		{"listen.owner = nginx", func(p *Pool) { p.ListenOwner = "nginx" }},
		{"listen.group = www-data", func(p *Pool) { p.ListenGroup = "www-data" }},
		{"listen.mode = 0600", func(p *Pool) { p.ListenMode = 0o600 }},
		{"listen.mode = 666", func(p *Pool) { p.ListenMode = 0o666 }},
		{"listen.allowed_clients = 127.0.0.1, ::1", func(p *Pool) {
			p.ListenAllowedClients = []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}
		}},
		{"listen.allowed_clients =", func(p *Pool) {}},
		{"pm = ondemand", func(p *Pool) { p.PM = Ondemand }},
		{"pm = Static", func(p *Pool) {}},
		{"pm.max_children = 50", func(p *Pool) { p.MaxChildren = 50 }},
		{"pm.start_servers = 3", func(p *Pool) { p.StartServers = 3 }},
		{"pm.min_spare_servers = 2", func(p *Pool) { p.MinSpareServers = 2 }},
		{"pm.max_spare_servers = 4", func(p *Pool) { p.MaxSpareServers = 4 }},
		{"pm.max_spawn_rate = 8", func(p *Pool) { p.MaxSpawnRate = 8 }},
		{"pm.process_idle_timeout = 30s", func(p *Pool) { p.ProcessIdleTimeout = 30 * time.Second }},
		{"pm.max_requests = 500", func(p *Pool) { p.MaxRequests = 500 }},
		{"pm.status_path = /status-$pool", func(p *Pool) { p.StatusPath = "/status-www" }},
		{"ping.path = /ping", func(p *Pool) { p.PingPath = "/ping" }},
		{"ping.response = ok", func(p *Pool) { p.PingResponse = "ok" }},
		{"request_terminate_timeout = 30s", func(p *Pool) { p.RequestTerminateTimeout = 30 * time.Second }},
		{"request_slowlog_timeout = 5", func(p *Pool) { p.RequestSlowlogTimeout = 5 * time.Second; p.Slowlog = "/tmp/slow" }},
		{"slowlog = /var/log/$pool.slow", func(p *Pool) { p.Slowlog = "/var/log/www.slow" }},
		{"catch_workers_output = yes", func(p *Pool) { p.CatchWorkersOutput = true }},
		{"access.log = log/$pool.access.log", func(p *Pool) { p.AccessLog = "etc/log/www.access.log" }},
		{`access.format = "%R \"%m %r\" %s"`, func(p *Pool) { p.AccessFormat = `%R "%m %r" %s` }},
		{"env[APP_ENV] = production", func(p *Pool) { p.Env = map[string]string{"APP_ENV": "production"} }},
		{"env[TMP] = /tmp/$pool", func(p *Pool) { p.Env = map[string]string{"TMP": "/tmp/www"} }},
		{"env[HOSTNAME] = $HOSTNAME", func(p *Pool) { p.Env = map[string]string{"HOSTNAME": "$HOSTNAME"} }},
		{"worker.model = coroutine", func(p *Pool) { p.WorkerModel = Coroutine }},
		{"worker.model = coroutine\nworker.coroutines = 512", func(p *Pool) { p.WorkerModel = Coroutine; p.WorkerCoroutines = 512 }},
	} {
		t.Run(tt.line, func(t *testing.T) {
			conf := minimal + tt.line + "\n"
			if strings.HasPrefix(tt.line, "request_slowlog") {
				conf += "slowlog = /tmp/slow\n"
			}
			cfg, err := Parse("etc/fpm.conf", []byte(conf))
			require.NoError(t, err)
			require.Len(t, cfg.Pools, 1)
			want := defaultPool()
			tt.want(&want)
			assert.Equal(t, want, cfg.Pools[0])
			assert.Empty(t, cfg.Warnings)
		})
	}
}

// A dynamic pool without pm.start_servers starts halfway between its spare
// bounds; an ondemand pool has no spares and a backlog of at least 511.
func TestPMDefaults(t *testing.T) {
	cfg, err := Parse("fpm.conf", []byte("[www]\nlisten = 9000\npm = dynamic\npm.max_children = 10\n"+
		"pm.min_spare_servers = 2\npm.max_spare_servers = 7\n"))
	require.NoError(t, err)
	assert.Equal(t, 4, cfg.Pools[0].StartServers)

	cfg, err = Parse("fpm.conf", []byte("[www]\nlisten = 9000\npm = ondemand\npm.max_children = 10\n"+
		"pm.min_spare_servers = 2\nlisten.backlog = 64\n"))
	require.NoError(t, err)
	p := cfg.Pools[0]
	assert.Equal(t, [4]int{0, 0, 0, 511}, [4]int{p.StartServers, p.MinSpareServers, p.MaxSpareServers, p.ListenBacklog})
	assert.Equal(t, []string{"fpm.conf:6: [www] listen.backlog(64) was too low for the ondemand process manager. I updated it for you to 511."},
		cfg.Warnings)
}

// php-fpm's own directives that corofpm has no use for load with a warning,
// so that an operator's www.conf works as it is.
func TestNotImplemented(t *testing.T) {
	cfg, err := Parse("fpm.conf", []byte("[global]\nrlimit_files = 1024\n"+minimal+
		"user = www-data\nphp_admin_value[memory_limit] = 128M\nworker.coroutines = 64\n"))
	require.NoError(t, err)
	assert.Equal(t, []string{
		"fpm.conf:2: 'rlimit_files' is a php-fpm directive corofpm does not implement; ignored",
		"fpm.conf:7: 'user' is a php-fpm directive corofpm does not implement; ignored",
		"fpm.conf:8: 'php_admin_value[memory_limit]' is a php-fpm directive corofpm does not implement; ignored",
		"fpm.conf:9: [www] worker.coroutines has no effect with worker.model = blocking",
	}, cfg.Warnings)
	assert.Equal(t, defaultPool().Name, cfg.Pools[0].Name)
}

// A complete php-fpm.conf with a pool.d/www.conf, as an operator writes
// them; relative paths land beside the file that names them.
func TestLoadTestdata(t *testing.T) {
	cfg, err := Load(filepath.Join("testdata", "php-fpm.conf"))
	require.NoError(t, err)
	assert.Equal(t, Global{
		Pid: "testdata/run/corofpm.pid", ErrorLog: "testdata/log/corofpm.log", LogLevel: "notice",
		EmergencyRestartThreshold: 10, EmergencyRestartInterval: time.Minute,
		ProcessControlTimeout: 10 * time.Second, Daemonize: false,
	}, cfg.Global)
	assert.Equal(t, []Pool{{
		Name: "www", Listen: "127.0.0.1:9000", ListenBacklog: 511,
		ListenOwner: "www-data", ListenGroup: "www-data", ListenMode: 0o660,
		ListenAllowedClients: []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")},
		PM:                   Dynamic, MaxChildren: 5, StartServers: 2, MinSpareServers: 1, MaxSpareServers: 3,
		MaxSpawnRate: 32, ProcessIdleTimeout: 10 * time.Second, MaxRequests: 500,
		StatusPath: "/status", PingPath: "/ping", PingResponse: "pong",
		RequestTerminateTimeout: 30 * time.Second, RequestSlowlogTimeout: 5 * time.Second,
		Slowlog: "testdata/pool.d/log/www.log.slow", CatchWorkersOutput: true,
		AccessLog:    "testdata/pool.d/log/www.access.log",
		AccessFormat: `%R - %u %t "%m %r%Q%q" %s %f %{milli}d %{kilo}M %C%%`,
		Env:          map[string]string{"HOSTNAME": "$HOSTNAME", "PATH": "/usr/local/bin:/usr/bin:/bin", "TMP": "/tmp/www"},
		WorkerModel:  Coroutine, WorkerCoroutines: 128,
	}}, cfg.Pools)
	assert.Len(t, cfg.Warnings, 4, "user, group, php_admin_value, php_flag: %q", cfg.Warnings)
}

func TestTest(t *testing.T) {
	out, err := Test(filepath.Join("testdata", "php-fpm.conf"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(out, "WARNING: testdata/pool.d/www.conf:5: 'user' is a php-fpm directive"), out)
	assert.True(t, strings.HasSuffix(out, "NOTICE: configuration file testdata/php-fpm.conf test is successful\n"), out)

	bad := filepath.Join(t.TempDir(), "fpm.conf")
	writeFile(t, bad, "[www]\nlisten = 9000\npm = static\npm.max_chilren = 4\nuser = nobody\n")
	out, err = Test(bad)
	require.Error(t, err)
	assert.Equal(t, "WARNING: "+bad+":5: 'user' is a php-fpm directive corofpm does not implement; ignored\n"+
		"ERROR: "+bad+":4: unknown entry 'pm.max_chilren'\n"+
		"ERROR: "+bad+":1: [www] pm.max_children must be a positive value\n"+
		"ERROR: configuration file "+bad+" test failed\n", out)

	out, err = Test(filepath.Join(t.TempDir(), "missing.conf"))
	require.Error(t, err)
	assert.Contains(t, out, "failed to open configuration file: open ")
	assert.True(t, strings.HasSuffix(out, "missing.conf test failed\n"), out)
}

func TestAllowed(t *testing.T) {
	cfg, err := Parse("fpm.conf", []byte(minimal+"listen.allowed_clients = 127.0.0.1,::1, 10.0.0.7\n"))
	require.NoError(t, err)
	p := cfg.Pools[0]
	for peer, want := range map[string]bool{
		"127.0.0.1:51012":          true,
		"10.0.0.7:40000":           true,
		"[::1]:40000":              true,
		"[::ffff:127.0.0.1]:40000": true, // an IPv4 client of an IPv6 socket
		"127.0.0.2:51012":          false,
		"[::2]:40000":              false,
		"10.0.0.7":                 true,
		"unix:/run/fpm.sock":       true, // guarded by the file's mode instead
		"garbage":                  false,
	} {
		assert.Equal(t, want, p.Allowed(peer), peer)
	}
	open := defaultPool()
	assert.True(t, open.Allowed("192.0.2.1:1234"), "no list: everyone")
}

func TestListenAddress(t *testing.T) {
	for listen, want := range map[string]string{
		"9000":            "0.0.0.0:9000",
		":9000":           "0.0.0.0:9000",
		"127.0.0.1:9000":  "127.0.0.1:9000",
		"localhost:9000":  "127.0.0.1:9000",
		"[::1]:9000":      "[::1]:9000",
		"::1:9000":        "[::1]:9000",
		"/run/fpm.sock":   "/run/fpm.sock",
		"./run/fpm.sock":  "./run/fpm.sock",
		"[::]:9000":       "[::]:9000",
		"0.0.0.0:09000":   "0.0.0.0:9000",
		"10.1.2.3:65535":  "10.1.2.3:65535",
		"192.168.1.1:443": "192.168.1.1:443",
	} {
		p := Pool{Listen: listen}
		assert.Equal(t, want, p.ListenAddress(), listen)
	}
}

func TestPrefixAnchorsRelativePaths(t *testing.T) {
	cfg, err := LoadPrefix(filepath.Join("testdata", "php-fpm.conf"), "/srv/fpm")
	require.NoError(t, err)
	assert.Equal(t, "/srv/fpm/run/corofpm.pid", cfg.Global.Pid)
	assert.Equal(t, "/srv/fpm/log/corofpm.log", cfg.Global.ErrorLog)
	assert.Equal(t, "/srv/fpm/log/www.log.slow", cfg.Pools[0].Slowlog, "relative to the prefix, not to pool.d/")
}
