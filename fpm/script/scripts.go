package script

import (
	"io"
	"net/http"
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

// Upstream returns /upstream.php: it fetches url and answers with its body,
// the classic IO-bound script (PHP: echo file_get_contents($url)).
func Upstream(url string) Func {
	return func(w *fastcgi.Response, r *Request) {
		body, err := r.Get(url)
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

// Default returns a table with /hello.php and /sleep.php, and /upstream.php
// when upstream is not empty.
func Default(io IO, upstream string) *Table {
	t := NewTable(io)
	t.Handle("/hello.php", Hello)
	t.Handle("/sleep.php", Sleep)
	if upstream != "" {
		t.Handle("/upstream.php", Upstream(upstream))
	}
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
