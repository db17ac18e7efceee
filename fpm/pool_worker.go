package fpm

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/corofpm/corofpm/fpm/config"
	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/fpm/scoreboard"
	"github.com/corofpm/corofpm/fpm/script"
	"github.com/corofpm/corofpm/fpm/shm"
	"github.com/corofpm/corofpm/net/fastcgi"
	"github.com/corofpm/corofpm/net/sock"
)

// poolWorker is a worker process of a pool, blocking or coroutine
// (worker.model): every request goes through the scoreboard, the ping and
// status pages, the slow log and the access log before and after the
// scripts.
type poolWorker struct {
	cfg     config.Pool
	board   *scoreboard.Board
	slot    *scoreboard.Slot
	scripts fastcgi.Handler
	// access and slowlog are this worker's own handles on the log files,
	// opened in append mode: lines from many workers interleave whole.
	access, slowlog *os.File
	format          string
	w               *BlockingWorker
	// fresh is set when a connection was accepted and its first request
	// has not begun.
	fresh bool
}

// runWorker is the worker process: fd 3 is the pool's listening socket,
// fd 4 its scoreboard, and the pool's configuration is its argument.
func runWorker(c *proc.Child, scripts fastcgi.Handler) error {
	if len(c.Args) != 1 || len(c.Files) != 2 {
		return fmt.Errorf("want the pool's configuration, its socket and its scoreboard")
	}
	pw := &poolWorker{scripts: scripts}
	if err := json.Unmarshal([]byte(c.Args[0]), &pw.cfg); err != nil {
		return fmt.Errorf("pool configuration: %w", err)
	}
	ln, err := sock.FileListener(c.Files[0])
	if err != nil {
		return err
	}
	seg, err := shm.Open(c.Files[1])
	if err != nil {
		return err
	}
	defer seg.Close()
	if pw.board, err = scoreboard.Attach(seg); err != nil {
		return err
	}
	if err := pw.openLogs(); err != nil {
		return err
	}
	defer pw.closeLogs()
	if pw.cfg.WorkerModel == config.Coroutine {
		return pw.runCoroutines(ln)
	}
	return pw.runBlocking(ln)
}

// runBlocking serves one request at a time, with one scoreboard slot for
// the worker's life, as php-fpm's worker.
func (pw *poolWorker) runBlocking(ln *sock.Listener) error {
	var err error
	if pw.slot, err = pw.board.Acquire(os.Getpid()); err != nil {
		return err
	}
	defer pw.slot.Release()
	pw.w = &BlockingWorker{
		Listener:    ln,
		Handler:     pw,
		MaxRequests: pw.cfg.MaxRequests,
		Logf:        logStderr,
		OnIdle:      func() { pw.slot.Stage(scoreboard.Accepting) },
		OnConn: func() {
			pw.fresh = true
			pw.slot.Stage(scoreboard.ReadingHeaders)
		},
	}
	if len(pw.cfg.ListenAllowedClients) > 0 {
		pw.w.Allow = pw.cfg.Allowed
	}
	// SIGQUIT: finish the request in hand, then exit. SIGTERM keeps Go's
	// default, an immediate death, as php-fpm's worker.
	onQuit(pw.w.Stop)
	return pw.w.Run()
}

// runCoroutines serves worker.coroutines requests at once, each with a
// scoreboard slot of its own: the status page shows every request in
// flight, not one per process.
func (pw *poolWorker) runCoroutines(ln *sock.Listener) error {
	table, ok := pw.scripts.(*script.Table)
	if !ok {
		return fmt.Errorf("worker.model = coroutine needs the scripts as a script.Table, to give them coroutine IO")
	}
	slots := &slotPool{board: pw.board, pid: os.Getpid()}
	defer slots.releaseAll()
	w := &CoroutineWorker{
		Listener:    ln,
		Scripts:     table,
		Coroutines:  max(1, pw.cfg.WorkerCoroutines),
		MaxRequests: pw.cfg.MaxRequests,
		Terminate:   pw.cfg.RequestTerminateTimeout,
		Logf:        logStderr,
		Slot:        slots.get,
		Release:     slots.put,
		Serve: func(slot *scoreboard.Slot, rw *fastcgi.Response, r *fastcgi.Request, scripts fastcgi.Handler) {
			pw.record(slot, time.Now(), rw, r, scripts, true)
		},
	}
	if len(pw.cfg.ListenAllowedClients) > 0 {
		w.Allow = pw.cfg.Allowed
	}
	onQuit(w.Stop)
	return w.Run()
}

// slotPool keeps the scoreboard slots of a coroutine worker: taken as
// requests need them, up to worker.coroutines, and kept, Idle, between
// requests, so that the status page and the process manager see how long
// the worker has been idle.
type slotPool struct {
	board *scoreboard.Board
	pid   int
	free  []*scoreboard.Slot
	all   []*scoreboard.Slot
}

func (p *slotPool) get() (*scoreboard.Slot, error) {
	if n := len(p.free); n > 0 {
		s := p.free[n-1]
		p.free = p.free[:n-1]
		return s, nil
	}
	s, err := p.board.Acquire(p.pid)
	if err != nil {
		return nil, err
	}
	p.all = append(p.all, s)
	return s, nil
}

func (p *slotPool) put(s *scoreboard.Slot) {
	s.Stage(scoreboard.Accepting)
	p.free = append(p.free, s)
}

func (p *slotPool) releaseAll() {
	for _, s := range p.all {
		s.Release()
	}
}

// onQuit calls stop when the worker gets SIGQUIT.
func onQuit(stop func()) {
	quit := make(chan os.Signal, 1)
	signal.Notify(quit, syscall.SIGQUIT)
	go func() {
		<-quit
		stop()
	}()
}

func logStderr(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

func (pw *poolWorker) openLogs() error {
	var err error
	open := func(path string) *os.File {
		if path == "" || err != nil {
			return nil
		}
		var f *os.File
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		return f
	}
	pw.access = open(pw.cfg.AccessLog)
	pw.slowlog = open(pw.cfg.Slowlog)
	pw.format = pw.cfg.AccessFormat
	if pw.format == "" {
		pw.format = defaultAccessFormat
	}
	return err
}

func (pw *poolWorker) closeLogs() {
	for _, f := range []*os.File{pw.access, pw.slowlog} {
		if f != nil {
			f.Close()
		}
	}
}

// ServeFastCGI serves one request of a blocking worker.
func (pw *poolWorker) ServeFastCGI(w *fastcgi.Response, r *fastcgi.Request) {
	began := time.Now()
	if pw.fresh { // the first request of a connection began at its accept
		began, pw.fresh = pw.w.Accepted, false
	}
	pw.record(pw.slot, began, w, r, pw.scripts, false)
}

// record serves one request and records it on the way: in its scoreboard
// slot (nil: none to be had), and in the access log. A coroutine worker's
// process serves other requests meanwhile, so neither its CPU time nor its
// peak memory is this request's: concurrent leaves both out (0), and
// spares the request a getrusage(2).
func (pw *poolWorker) record(slot *scoreboard.Slot, began time.Time, w *fastcgi.Response, r *fastcgi.Request, scripts fastcgi.Handler, concurrent bool) {
	if slot != nil {
		begin(slot, began, r)
	}
	var cpu0 time.Duration
	if !concurrent {
		cpu0, _ = usage()
	}
	pw.serve(w, r, scripts)
	var cpu time.Duration
	var mem uint64
	if !concurrent {
		cpu1, peak := usage()
		cpu, mem = cpu1-cpu0, peak
	}
	if slot != nil {
		slot.End(cpu, mem)
	}
	if pw.access != nil {
		pw.logAccess(r, w, began, cpu, mem)
	}
	if slot != nil {
		slot.Stage(scoreboard.Finishing)
	}
}

// begin records the request in its slot. It, and logAccess, are
// functions of their own so that record's stack frame, which every request
// of a coroutine worker holds while its script waits, stays small.
func begin(slot *scoreboard.Slot, began time.Time, r *fastcgi.Request) {
	p := &r.Params
	slot.Begin(scoreboard.Request{
		Began:         began,
		Method:        p.Get("REQUEST_METHOD"),
		URI:           p.Get("REQUEST_URI"),
		ContentLength: int64(len(r.Stdin)),
		Script:        p.Get("SCRIPT_FILENAME"),
		User:          p.Get("REMOTE_USER"),
	})
	slot.Stage(scoreboard.Executing)
}

// logAccess writes the request's access log line.
func (pw *poolWorker) logAccess(r *fastcgi.Request, w *fastcgi.Response, began time.Time, cpu time.Duration, mem uint64) {
	pw.access.WriteString(formatAccess(pw.format, served{
		req: r, pool: pw.cfg.Name, status: w.Status(), began: began,
		duration: time.Since(began), cpu: cpu, memory: mem,
	}))
}

// serve answers the ping and status paths itself and hands every other
// request to the scripts, under the slow log's watch.
func (pw *poolWorker) serve(w *fastcgi.Response, r *fastcgi.Request, scripts fastcgi.Handler) {
	path := script.Name(r)
	switch {
	case pw.cfg.PingPath != "" && path == pw.cfg.PingPath:
		w.SetHeader("Content-Type", "text/plain")
		w.SetHeader("Cache-Control", "no-cache, no-store, must-revalidate, max-age=0")
		w.WriteString(pw.cfg.PingResponse + "\n")
		return
	case pw.cfg.StatusPath != "" && path == pw.cfg.StatusPath:
		query := r.Params.Get("QUERY_STRING")
		_, ctype := statusFormat(query)
		w.SetHeader("Content-Type", ctype)
		w.SetHeader("Cache-Control", "no-cache, no-store, must-revalidate, max-age=0")
		writeStatus(w, pw.board, query)
		return
	}
	if limit := pw.cfg.RequestSlowlogTimeout; limit > 0 {
		t := time.AfterFunc(limit, func() { pw.slow(r, limit) })
		defer t.Stop()
	}
	scripts.ServeFastCGI(w, r)
}

// slow writes a request that runs past request_slowlog_timeout to the slow
// log, with the stacks of the worker's goroutines: where the script is
// stuck. php-fpm's master ptrace()s the worker to read its PHP stack; a Go
// process can read its own, so the worker's own timer does it here.
func (pw *poolWorker) slow(r *fastcgi.Request, limit time.Duration) {
	pw.board.CountSlowRequest()
	if pw.slowlog == nil {
		return
	}
	buf := make([]byte, 64<<10)
	buf = buf[:runtime.Stack(buf, true)]
	var b strings.Builder
	fmt.Fprintf(&b, "\n[%s]  [pool %s] pid %d\n", time.Now().Format("02-Jan-2006 15:04:05"), pw.cfg.Name, os.Getpid())
	fmt.Fprintf(&b, "script_filename = %s\n", r.Params.Get("SCRIPT_FILENAME"))
	fmt.Fprintf(&b, "request = %s %s (slower than %s)\n", r.Params.Get("REQUEST_METHOD"), r.Params.Get("REQUEST_URI"), limit)
	b.Write(buf)
	pw.slowlog.WriteString(b.String())
}

// usage is the process's user and system CPU time so far, and its peak
// resident set in bytes (the nearest a Go worker has to PHP's
// memory_get_peak_usage), from one getrusage(2).
func usage() (cpu time.Duration, peak uint64) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), uint64(ru.Maxrss) * 1024
}
