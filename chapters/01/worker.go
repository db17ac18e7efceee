package main

import (
	"sync"
	"time"

	"github.com/corofpm/corofpm/fpm"
	"github.com/corofpm/corofpm/fpm/script"
	"github.com/corofpm/corofpm/net/fastcgi"
	"github.com/corofpm/corofpm/net/sock"
)

// worker is the chapter's single FastCGI worker: fpm's blocking worker,
// which serves one connection, and so one request, at a time, plus what the
// chapter records about it. It runs in the chapter's own process; chapter
// 03 moves workers into child processes.
type worker struct {
	fpm.BlockingWorker
	scripts fastcgi.Handler
	// logf reports a line the way the worker would log it; the chapter
	// tags it with the role and pid.
	logf func(format string, args ...any)

	// mu guards what the worker records for the chapter to read while it
	// runs: the timestamps of every request and, when tracing, the records.
	mu       sync.Mutex
	served   []served
	tracing  bool
	recorded []record
}

// served is what the worker measured of one request, in its own clock.
type served struct {
	Script   string
	URI      string // REQUEST_URI, which tells the two slow requests apart
	Peer     string
	Accepted time.Time // accept(2) returned the connection
	Started  time.Time // the script began
	Finished time.Time // the script returned
}

// record is one FastCGI record as the worker read or wrote it.
type record struct {
	In      bool // read from nginx (true) or written to it
	Header  fastcgi.Header
	Content []byte
}

func newWorker(ln *sock.Listener, logf func(string, ...any)) *worker {
	w := &worker{logf: logf, scripts: script.Default(script.Blocking{}, "")}
	w.BlockingWorker = fpm.BlockingWorker{
		Listener: ln,
		Handler:  w, // time every script (ServeFastCGI below)
		Config:   fastcgi.Config{Trace: w.trace},
		Logf:     logf,
	}
	return w
}

// ServeFastCGI runs one script and records when it ran.
func (w *worker) ServeFastCGI(rw *fastcgi.Response, r *fastcgi.Request) {
	s := served{Script: script.Name(r), URI: r.Params.Get("REQUEST_URI"), Peer: w.Peer, Accepted: w.Accepted, Started: time.Now()}
	w.scripts.ServeFastCGI(rw, r)
	s.Finished = time.Now()
	w.mu.Lock()
	w.served = append(w.served, s)
	w.mu.Unlock()
	w.logf("%s %s from %s in %s", r.Params.Get("REQUEST_METHOD"), s.Script, w.Peer, s.Finished.Sub(s.Started).Round(time.Microsecond))
}

// trace keeps a copy of each record while tracing is on.
func (w *worker) trace(in bool, h fastcgi.Header, content []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.tracing {
		w.recorded = append(w.recorded, record{In: in, Header: h, Content: append([]byte(nil), content...)})
	}
}

// startTrace clears and starts recording; stopTrace returns what was seen.
func (w *worker) startTrace() {
	w.mu.Lock()
	w.tracing, w.recorded = true, nil
	w.mu.Unlock()
}

func (w *worker) stopTrace() []record {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tracing = false
	return w.recorded
}

// servedSince returns the requests served after t, in the order they ended.
func (w *worker) servedSince(t time.Time) []served {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []served
	for _, s := range w.served {
		if s.Accepted.After(t) {
			out = append(out, s)
		}
	}
	return out
}
