// Package script is the FPM's stand-in for PHP: Go functions registered by
// script path (/hello.php, /sleep.php, /upstream.php) and run for the
// requests whose SCRIPT_NAME names them.
//
// A script does its IO through its Request (Sleep, Get), never directly.
// The worker decides what those calls do: a blocking worker blocks its whole
// process in them, as PHP does in file_get_contents; a coroutine worker
// suspends just the request's coroutine. So the same script runs unchanged
// in both, the Go analogue of Swoole's runtime hooks.
package script

import (
	"net/url"
	"path"
	"time"

	"github.com/corofpm/corofpm/net/fastcgi"
)

// IO is the set of blocking operations a script may perform, provided by
// the worker model that runs it.
type IO interface {
	// Sleep pauses the script for d, as PHP's usleep.
	Sleep(d time.Duration)
	// Get fetches url with HTTP GET and returns the body, as PHP's
	// file_get_contents("http://...").
	Get(url string) ([]byte, error)
}

// Request is what a script sees: the FastCGI request (params, body) and the
// IO its worker provides.
type Request struct {
	*fastcgi.Request
	io IO
}

// Sleep pauses the script through its worker's IO.
func (r *Request) Sleep(d time.Duration) { r.io.Sleep(d) }

// Get fetches url through its worker's IO.
func (r *Request) Get(url string) ([]byte, error) { return r.io.Get(url) }

// Query returns a parameter of the query string ("" when absent).
func (r *Request) Query(name string) string {
	q, _ := url.ParseQuery(r.Params.Get("QUERY_STRING"))
	return q.Get(name)
}

// Func is a script.
type Func func(w *fastcgi.Response, r *Request)

// Table maps script paths to scripts. It is a fastcgi.Handler: the worker
// hands it every request.
type Table struct {
	scripts map[string]Func
	io      IO
}

// NewTable returns an empty table whose scripts do IO through io.
func NewTable(io IO) *Table {
	return &Table{scripts: map[string]Func{}, io: io}
}

// WithIO returns a table with the same scripts doing their IO through io:
// how a coroutine worker runs, unchanged, the scripts written for a
// blocking one.
func (t *Table) WithIO(io IO) *Table {
	return &Table{scripts: t.scripts, io: io}
}

// Handle registers f for the script path name ("/hello.php").
func (t *Table) Handle(name string, f Func) { t.scripts[name] = f }

// Lookup returns the script for a path, if there is one.
func (t *Table) Lookup(name string) (Func, bool) {
	f, ok := t.scripts[name]
	return f, ok
}

// Name returns the script path a request asks for: SCRIPT_NAME, as nginx's
// fastcgi_params sends it, or else the last element of SCRIPT_FILENAME
// ("/srv/www/hello.php" → "/hello.php"), which is all some clients send.
func Name(r *fastcgi.Request) string {
	if name := r.Params.Get("SCRIPT_NAME"); name != "" {
		return name
	}
	if file := r.Params.Get("SCRIPT_FILENAME"); file != "" {
		return "/" + path.Base(file)
	}
	return ""
}

// ServeFastCGI runs the script the request names, or answers 404 as php-fpm
// does for a script file that does not exist.
func (t *Table) ServeFastCGI(w *fastcgi.Response, r *fastcgi.Request) {
	name := Name(r)
	f, ok := t.scripts[name]
	if !ok {
		w.WriteHeader(404)
		w.SetHeader("Content-Type", "text/plain")
		w.WriteString("File not found.\n")
		w.Log("Primary script unknown: %q", name)
		return
	}
	f(w, &Request{Request: r, io: t.io})
}
