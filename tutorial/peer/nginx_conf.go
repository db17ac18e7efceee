package peer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"text/template"
	"time"
)

// NginxConfig describes the one nginx server a test or chapter needs: an HTTP
// port on loopback that sends every *.php request to one FastCGI address.
type NginxConfig struct {
	// Dir is nginx's prefix: nginx.conf, error.log, the pid file, the temp
	// directories and the document root www/ all live in it, so a test owns
	// everything nginx writes and t.TempDir() removes it. Required.
	Dir string
	// FastCGI is where fastcgi_pass goes: "127.0.0.1:9000", or a unix socket
	// path (anything with a '/'), written as unix:PATH.
	FastCGI string
	// Port is the HTTP port on 127.0.0.1; 0 picks a free one.
	Port int
	// KeepConn puts the FastCGI address in an upstream block with keepalive
	// and turns fastcgi_keep_conn on, so nginx reuses one FastCGI connection
	// for many requests, as php-fpm deployments tuned for speed do. Without
	// it nginx opens a connection per request and the server closes it.
	KeepConn bool
	// Keepalive is the upstream block's keepalive with KeepConn: how many
	// idle FastCGI connections each nginx worker keeps; 0 means 16. A
	// blocking FPM worker is pinned to a kept connection until nginx closes
	// it, so against one its total over the workers should not pass
	// pm.max_children: a kept connection that no FPM worker accepted waits
	// in the listen queue, and so does a request sent on it.
	Keepalive int
	// ReadTimeout is fastcgi_read_timeout, and the send and connect timeouts
	// too: how long nginx waits on a slow FastCGI server before it answers
	// 504. 0 means nginx's own default, 60s.
	ReadTimeout time.Duration
	// Workers is worker_processes; 0 means 1, so that a test sees one
	// worker's connection pattern and not a shuffle of several.
	Workers int
	// AccessLog writes Dir/access.log with one line per request, e.g.
	//	200 0.012 0.011 "GET /hello.php HTTP/1.1"
	// (status, nginx's total time, the FastCGI server's time), the figures
	// a chapter tables. Off by default: logging costs time under wrk.
	AccessLog bool
	// Root is the document root nginx reports in DOCUMENT_ROOT and
	// SCRIPT_FILENAME; empty means Dir/www. Scripts here are Go functions,
	// so nothing is read from it: a fixed Root such as /srv/www makes the
	// bytes nginx sends the same from run to run (the fuzz seeds use that).
	Root string
	// Return, when set, adds a location /return that nginx answers by
	// itself with 200 and this body (return 200 "..."), no FastCGI server
	// involved: the ceiling that a server behind this nginx cannot pass,
	// measured through the same nginx. The body may not hold '"', '\\'
	// or '$'.
	Return string
	// WorkerConnections is worker_connections: how many connections one
	// nginx worker may hold, clients and FastCGI connections together (a
	// proxied request holds two); 0 means 4096. Above 4096, the config also
	// raises worker_rlimit_nofile to match, since each is a descriptor.
	WorkerConnections int
	// Backlog is the accept queue of nginx's listening socket (listen ...
	// backlog=N); 0 means nginx's default, 511. A load generator that opens
	// thousands of connections at once needs more, up to the kernel's
	// net.core.somaxconn, or its SYNs are dropped and retried a second later.
	Backlog int
}

// keepaliveConns is the default keepalive size of the upstream block: how
// many idle FastCGI connections each nginx worker keeps open for reuse.
const keepaliveConns = 16

// defaultWorkerConnections is worker_connections unless the config says
// otherwise: a cap, not an allocation, since nginx takes a descriptor for
// a connection only while it has one.
const defaultWorkerConnections = 4096

// confData is what the template sees: the config, checked, with defaults
// filled in and values turned into nginx syntax.
type confData struct {
	User      bool   // add "user root;" so workers can open files under a 0700 dir
	Workers   int    // worker_processes
	Dir       string // the prefix; every file nginx writes is under it
	Root      string // the document root
	AccessLog bool
	Port      int
	Upstream  string // the server line of the upstream block, or "" without KeepConn
	Pass      string // the fastcgi_pass argument
	KeepConn  bool
	Keepalive int
	Timeout   string // e.g. "60000ms"
	UWSGI     bool   // this nginx has the uwsgi module, so uwsgi_temp_path is valid
	SCGI      bool   // likewise for scgi
	Return    string // the body of location /return, in nginx's quoted syntax; "" for none
	// Connections is worker_connections; Rlimit, when not 0, is
	// worker_rlimit_nofile.
	Connections, Rlimit int
	Backlog             int // listen's backlog=, 0 for nginx's default
}

// confTemplate is the whole nginx.conf. The fastcgi_param list is written out
// here rather than included from /etc/nginx/fastcgi_params, so the reader sees
// every CGI variable nginx sends and the test does not depend on the distro's
// copy of that file.
var confTemplate = template.Must(template.New("nginx.conf").Parse(`# Written by tutorial/peer: one nginx for one test or chapter.
{{if .User}}user root;
{{end}}master_process on;
worker_processes {{.Workers}};
{{- if .Rlimit}}
worker_rlimit_nofile {{.Rlimit}};
{{- end}}
pid {{.Path "nginx.pid"}};
error_log {{.Path "error.log"}} notice;

events {
    worker_connections {{.Connections}};
}

http {
    client_body_temp_path {{.Path "temp/client_body"}};
    proxy_temp_path {{.Path "temp/proxy"}};
    fastcgi_temp_path {{.Path "temp/fastcgi"}};
{{- if .UWSGI}}
    uwsgi_temp_path {{.Path "temp/uwsgi"}};
{{- end}}
{{- if .SCGI}}
    scgi_temp_path {{.Path "temp/scgi"}};
{{- end}}
{{if .AccessLog}}
    log_format peer '$status $request_time $upstream_response_time "$request"';
    access_log {{.Path "access.log"}} peer;
{{- else}}
    access_log off;
{{- end}}
{{if .Upstream}}
    upstream fastcgi_backend {
        server {{.Upstream}};
        keepalive {{.Keepalive}};
    }
{{end}}
    server {
        listen 127.0.0.1:{{.Port}}{{if .Backlog}} backlog={{.Backlog}}{{end}};
        server_name localhost;
        root "{{.Root}}";

{{- if .Return}}
        location = /return {
            default_type text/plain;
            return 200 "{{.Return}}";
        }
{{end}}
        # Scripts, and the FPM's own status and ping pages, as a php-fpm
        # deployment routes them.
        location ~ (\.php|^/status|^/ping)$ {
            fastcgi_pass {{.Pass}};
{{- if .KeepConn}}
            fastcgi_keep_conn on;
{{- end}}
            fastcgi_connect_timeout {{.Timeout}};
            fastcgi_send_timeout {{.Timeout}};
            fastcgi_read_timeout {{.Timeout}};

            fastcgi_param SCRIPT_FILENAME   $document_root$fastcgi_script_name;
            fastcgi_param SCRIPT_NAME       $fastcgi_script_name;
            fastcgi_param QUERY_STRING      $query_string;
            fastcgi_param REQUEST_METHOD    $request_method;
            fastcgi_param CONTENT_TYPE      $content_type;
            fastcgi_param CONTENT_LENGTH    $content_length;
            fastcgi_param REQUEST_URI       $request_uri;
            fastcgi_param DOCUMENT_URI      $document_uri;
            fastcgi_param DOCUMENT_ROOT     $document_root;
            fastcgi_param SERVER_PROTOCOL   $server_protocol;
            fastcgi_param REQUEST_SCHEME    $scheme;
            fastcgi_param GATEWAY_INTERFACE CGI/1.1;
            fastcgi_param SERVER_SOFTWARE   nginx/$nginx_version;
            fastcgi_param REMOTE_ADDR       $remote_addr;
            fastcgi_param REMOTE_PORT       $remote_port;
            fastcgi_param SERVER_ADDR       $server_addr;
            fastcgi_param SERVER_PORT       $server_port;
            fastcgi_param SERVER_NAME       $server_name;
            # PHP built with --enable-force-cgi-redirect refuses requests without it.
            fastcgi_param REDIRECT_STATUS   200;
        }
    }
}
`))

// Path is the quoted nginx.conf spelling of the file name inside Dir.
func (d confData) Path(name string) string {
	return `"` + filepath.Join(d.Dir, name) + `"`
}

// check rejects a config that cannot make a working nginx.conf, before
// anything is written to disk.
func (cfg NginxConfig) check() error {
	if cfg.Dir == "" {
		return errors.New("peer: nginx config: Dir is required")
	}
	if strings.ContainsAny(cfg.Dir+cfg.Root, "$\"\\\n;{}") {
		// nginx expands $ in root and has no escape for it; the rest would
		// need quoting rules this small writer does not implement.
		return fmt.Errorf("peer: nginx dir %q: contains a character nginx.conf cannot hold", cfg.Dir)
	}
	if strings.ContainsAny(cfg.Return, "\"\\$") {
		return fmt.Errorf("peer: nginx config: Return body %q: contains '\"', '\\' or '$'", cfg.Return)
	}
	if cfg.FastCGI == "" {
		return errors.New("peer: nginx config: FastCGI address is empty")
	}
	return nil
}

// renderConf returns the text of nginx.conf for cfg, whose Dir is absolute and
// whose Port is already chosen.
func renderConf(cfg NginxConfig) ([]byte, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	addr := cfg.FastCGI
	if strings.Contains(addr, "/") {
		addr = "unix:" + addr
	}
	timeout := cfg.ReadTimeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	if cfg.Root == "" {
		cfg.Root = filepath.Join(cfg.Dir, "www")
	}
	mods := nginxModules()
	d := confData{
		User:      os.Geteuid() == 0,
		Workers:   max(cfg.Workers, 1),
		Dir:       cfg.Dir,
		Root:      cfg.Root,
		AccessLog: cfg.AccessLog,
		Port:      cfg.Port,
		Pass:      addr,
		KeepConn:  cfg.KeepConn,
		Timeout:   fmt.Sprintf("%dms", timeout.Milliseconds()),
		UWSGI:     mods.uwsgi,
		SCGI:      mods.scgi,
		// nginx unescapes \n, \r and \t inside a quoted string.
		Return:      strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(cfg.Return),
		Connections: defaultWorkerConnections,
		Backlog:     cfg.Backlog,
	}
	if cfg.WorkerConnections > defaultWorkerConnections {
		// Room for the connections, the logs and the listening socket.
		d.Connections = cfg.WorkerConnections
		d.Rlimit = cfg.WorkerConnections + 64
	} else if cfg.WorkerConnections > 0 {
		d.Connections = cfg.WorkerConnections
	}
	if cfg.KeepConn {
		d.Upstream = addr
		d.Keepalive = keepaliveConns
		if cfg.Keepalive > 0 {
			d.Keepalive = cfg.Keepalive
		}
		d.Pass = "fastcgi_backend"
	}
	var b bytes.Buffer
	if err := confTemplate.Execute(&b, d); err != nil {
		return nil, fmt.Errorf("peer: nginx config: %w", err)
	}
	return b.Bytes(), nil
}

// modules says which optional nginx modules this build has. A build without
// the uwsgi or scgi module rejects their *_temp_path directives, and a build
// with them creates their compiled-in temp dirs under /var/lib/nginx unless
// told otherwise, so the config must name them exactly when they exist.
type modules struct{ uwsgi, scgi bool }

var (
	modulesOnce sync.Once
	modulesSeen modules
)

// nginxModules reads `nginx -V` once per process.
func nginxModules() modules {
	modulesOnce.Do(func() {
		modulesSeen = modules{uwsgi: true, scgi: true}
		path, err := Look("nginx")
		if err != nil {
			return
		}
		out, err := exec.Command(path, "-V").CombinedOutput()
		if err != nil {
			return
		}
		modulesSeen.uwsgi = !bytes.Contains(out, []byte("--without-http_uwsgi_module"))
		modulesSeen.scgi = !bytes.Contains(out, []byte("--without-http_scgi_module"))
	})
	return modulesSeen
}
