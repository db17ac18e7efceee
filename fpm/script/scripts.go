package script

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/corofpm/corofpm/net/fastcgi"
)

// Hello is /hello.php: the smallest script, for measuring the server rather
// than the script.
func Hello(w *fastcgi.Response, r *Request) {
	w.SetHeader("Content-Type", "text/plain")
	w.WriteString("Hello from corofpm\n")
}

// Sleep is /sleep.php?ms=N: it waits N milliseconds (default 1000) before
// answering, a stand-in for a slow database call.
func Sleep(w *fastcgi.Response, r *Request) {
	ms, err := strconv.Atoi(r.Query("ms"))
	if err != nil || ms < 0 {
		ms = 1000
	}
	r.Sleep(time.Duration(ms) * time.Millisecond)
	w.SetHeader("Content-Type", "text/plain")
	w.WriteString("slept " + strconv.Itoa(ms) + " ms\n")
}

// Upstream returns /upstream.php: it fetches a URL and answers with its
// body, the classic IO-bound script (PHP: echo file_get_contents($url)).
// The URL is ?url=... when the request gives one, else def; with neither
// the script answers 400. Only http and https URLs are fetched.
func Upstream(def string) Func {
	return func(w *fastcgi.Response, r *Request) {
		target := r.Query("url")
		if target == "" {
			target = def
		}
		if u, err := url.Parse(target); target == "" || err != nil || u.Scheme != "http" && u.Scheme != "https" {
			w.WriteHeader(400)
			w.SetHeader("Content-Type", "text/plain")
			w.WriteString("upstream.php: give an http(s) URL: /upstream.php?url=http://...\n")
			return
		}
		body, err := r.Get(target)
		if err != nil {
			w.WriteHeader(502)
			w.Log("upstream.php: %v", err)
			w.WriteString("upstream failed\n")
			return
		}
		w.SetHeader("Content-Type", "text/plain")
		w.Write(body)
	}
}

// Info is /info.php: it prints the request's FastCGI params, sorted, one
// "NAME = value" a line: what the web server told the FPM (phpinfo()'s
// environment section).
func Info(w *fastcgi.Response, r *Request) {
	w.SetHeader("Content-Type", "text/plain")
	var names []string
	for name := range r.Params.All() {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		w.WriteString(name + " = " + r.Params.Get(name) + "\n")
	}
	if len(r.Stdin) > 0 {
		w.WriteString("\n" + strconv.Itoa(len(r.Stdin)) + " bytes of request body\n")
	}
}

// Default returns a table with /hello.php, /sleep.php, /info.php and
// /upstream.php, whose default URL is upstream ("" for none).
func Default(io IO, upstream string) *Table {
	t := NewTable(io)
	t.Handle("/hello.php", Hello)
	t.Handle("/sleep.php", Sleep)
	t.Handle("/info.php", Info)
	t.Handle("/upstream.php", Upstream(upstream))
	return t
}

// Blocking is the IO of a blocking worker: the calling thread waits in the
// kernel for the whole operation, so the worker serves nothing else.
type Blocking struct {
	// Client does the HTTP GETs; its Timeout bounds each (a php.ini's
	// default_socket_timeout).
	Client *http.Client
}

// Sleep sleeps.
func (Blocking) Sleep(d time.Duration) { time.Sleep(d) }

// Get fetches url and waits for all of its body.
func (b Blocking) Get(url string) ([]byte, error) {
	c := b.Client
	if c == nil {
		c = &http.Client{Timeout: 60 * time.Second}
	}
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}
