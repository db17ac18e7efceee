package fpm

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync"
	"time"

	"github.com/corofpm/corofpm/coro"
	"github.com/corofpm/corofpm/fpm/scoreboard"
	"github.com/corofpm/corofpm/fpm/script"
	"github.com/corofpm/corofpm/net/fastcgi"
	"github.com/corofpm/corofpm/net/sock"
)

// CoroutineWorker is a worker that serves many requests at once: one
// coroutine scheduler on one thread, a coroutine per FastCGI connection,
// and IO that suspends the coroutine (coro's hooked sockets, sleep and
// HTTP client) instead of blocking the process. The same scripts run in
// it as in a BlockingWorker: their IO goes through the request.
//
// It accepts while it has room for another request, and stops accepting
// when all Coroutines are busy: the kernel's backlog, and the pool's other
// workers, hold what it cannot take, as in a blocking pool.
type CoroutineWorker struct {
	// Listener is the pool's socket, shared with the other workers.
	Listener *sock.Listener
	// Scripts are the scripts, given coroutine IO by the worker.
	Scripts *script.Table
	// Coroutines is how many requests the worker serves at once
	// (worker.coroutines).
	Coroutines int
	// Config limits each FastCGI connection.
	Config fastcgi.Config
	// MaxRequests ends the worker after that many requests, once those in
	// flight are done (pm.max_requests); 0 means no limit.
	MaxRequests int
	// Terminate cancels a request that runs longer (the pool's
	// request_terminate_timeout): its coroutine, not the process.
	Terminate time.Duration
	// Allow decides whether a peer may talk to the pool.
	Allow func(peer string) bool
	// Logf reports what went wrong with one connection or request.
	Logf func(format string, args ...any)
	// Slot, when set, returns a scoreboard slot for a request to record its
	// stages in; the worker gives it back with Release.
	Slot func() (*scoreboard.Slot, error)
	// Release takes back a slot Slot gave.
	Release func(*scoreboard.Slot)
	// Serve wraps each request (scoreboard, access log, ping and status);
	// nil serves the scripts directly.
	Serve func(slot *scoreboard.Slot, w *fastcgi.Response, r *fastcgi.Request, scripts fastcgi.Handler)

	// mu guards sched and stopAsked, which Stop reads from a signal's
	// goroutine: a Stop before Run made the scheduler is kept for it.
	mu        sync.Mutex
	sched     *coro.Scheduler
	stopAsked bool
	listener  *coro.Listener
	// served counts finished requests; stopping is set once the worker
	// leaves (SIGQUIT, or MaxRequests reached).
	served   int
	stopping bool
	// kept are the connections waiting, between two requests, for the
	// web server's next one: on leave they are closed, or a graceful stop
	// would wait for nginx to let go of its keep-alive connections.
	kept map[*coro.Conn]struct{}
	// spare are the FastCGI Conns of finished connections, reused with
	// their buffers as the blocking worker reuses its one: nginx opens a
	// connection per request unless told to keep them.
	spare []*fastcgi.Conn
	// running counts the requests in flight, peak the most at once since
	// memory was last given back, idleSince when running last fell to 0;
	// stopRelease cancels the pending release (see release).
	running, peak int
	idleSince     time.Time
	stopRelease   func() bool
	// free gives the memory back: debug.FreeOSMemory unless a test set it.
	free func()
}

// releaseIdle is how long a worker that held releasePeak requests or more
// at once must have none before it gives its memory back to the kernel.
// A burst's memory (stacks, buffers, ~20 KiB a request) is garbage once
// the burst is over, but an idle Go process allocates nothing, so nothing
// starts the collection that would free it: the worker would keep the RSS
// of its busiest moment until the runtime's forced collection, minutes
// later. Under releasePeak the memory at stake is a megabyte or two.
const (
	releaseIdle = time.Second
	releasePeak = 64
)

// ANCHOR: coroutine-worker
// Run serves until Stop or MaxRequests, then waits for the requests in
// flight and returns.
func (w *CoroutineWorker) Run() error {
	poller, err := coro.NewPoller()
	if err != nil {
		return err
	}
	defer poller.Close()
	// The acceptor, a coroutine per connection, and one more: a finished
	// connection's coroutine hands its room back, and the acceptor starts
	// the next one, before it has quite exited.
	sched := coro.New(coro.Options{Idler: poller, MaxCoroutines: w.Coroutines + 2})
	w.kept = map[*coro.Conn]struct{}{}
	if w.listener, err = coro.NewListener(sched, poller, w.Listener); err != nil {
		return err
	}
	w.mu.Lock()
	w.sched = sched
	if w.stopAsked { // SIGQUIT came before the scheduler existed
		sched.Post(w.leave)
	}
	w.mu.Unlock()
	defer w.listener.Close()
	if w.free == nil {
		w.free = debug.FreeOSMemory
	}
	if w.Config.Buffers == nil {
		// Thousands of connections, most waiting (on an upstream, or for
		// nginx's next request on a kept one): buffers are lent to those
		// reading or writing, a few at a time on this one thread.
		w.Config.Buffers = &fastcgi.Buffers{Size: w.Config.Buffer}
	}
	client := &coro.HTTPClient{Poller: poller, Timeout: 60 * time.Second, MaxIdlePerHost: w.Coroutines}
	scripts := w.Scripts.WithIO(&coIO{s: sched, client: client})

	return sched.Run(func(c *coro.Co) {
		// room holds a token per free coroutine: the acceptor takes one
		// before accept(2), a finished connection gives it back.
		room := coro.NewChan[struct{}](w.Coroutines)
		for range w.Coroutines {
			room.Push(c, struct{}{}, 0)
		}
		var inFlight coro.WaitGroup
		for !w.stopping {
			if room.Len() == 0 {
				// Full: out of the kernel's queue of waiters on the
				// socket, so that a worker with room is woken instead.
				w.listener.Pause()
			}
			if _, err := room.Pop(c, coro.Forever); err != nil {
				break
			}
			conn, err := w.listener.Accept(c)
			if err != nil {
				if !errors.Is(err, coro.ErrClosed) {
					w.logf("accept: %v", err)
				}
				break
			}
			if w.Allow != nil && !w.Allow(conn.Peer()) {
				w.logf("connection from disallowed IP address '%s' is dropped", conn.Peer())
				conn.Close()
				room.Push(c, struct{}{}, 0)
				continue
			}
			inFlight.Add(1)
			_, err = c.Go(func(c *coro.Co) {
				defer inFlight.Done()
				defer room.Push(c, struct{}{}, 0)
				w.serveConn(c, conn, scripts)
			})
			if err != nil { // not a request lost in silence: the web server sees the close
				w.logf("connection from %s: %v", conn.Peer(), err)
				conn.Close()
				inFlight.Done()
				room.Push(c, struct{}{}, 0)
			}
		}
		inFlight.Wait(c, coro.Forever) // graceful: the requests in hand finish
	})
}

// ANCHOR_END: coroutine-worker

// Stop makes the worker take no new connection and return once the
// requests in flight are done. It is safe from any goroutine.
func (w *CoroutineWorker) Stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopAsked = true
	if w.sched != nil {
		w.sched.Post(w.leave)
	}
}

// leave runs on the scheduler's thread: no more accepts, and the kept
// connections with no request in hand are closed.
func (w *CoroutineWorker) leave() {
	if w.stopping {
		return
	}
	w.stopping = true
	if w.stopRelease != nil { // or Run would wait for it
		w.stopRelease()
		w.stopRelease = nil
	}
	w.listener.Close() // wakes the acceptor with ErrClosed
	for conn := range w.kept {
		conn.Close() // its coroutine's read fails: it ends
	}
}

// serveConn serves one FastCGI connection's requests in this coroutine.
func (w *CoroutineWorker) serveConn(c *coro.Co, conn *coro.Conn, scripts fastcgi.Handler) {
	defer conn.Close()
	fc := w.fastcgiConn(conn)
	defer w.putConn(fc)
	handler := fastcgi.HandlerFunc(func(rw *fastcgi.Response, r *fastcgi.Request) {
		delete(w.kept, conn)
		w.serveRequest(c, conn, rw, r, scripts)
	})
	defer delete(w.kept, conn)
	for first := true; ; first = false {
		if !first {
			w.kept[conn] = struct{}{}
		}
		more, err := fc.ServeOne(handler)
		if err == io.EOF {
			return // the web server closed a kept connection
		}
		if err != nil {
			if !errors.Is(err, coro.ErrCanceled) && !errors.Is(err, coro.ErrClosed) {
				w.logf("%v", err)
			}
			return
		}
		w.served++
		if w.MaxRequests > 0 && w.served >= w.MaxRequests {
			w.leave()
		}
		if !more || w.stopping {
			return
		}
	}
}

// fastcgiConn returns a spare FastCGI Conn, or a new one, serving conn.
func (w *CoroutineWorker) fastcgiConn(conn *coro.Conn) *fastcgi.Conn {
	n := len(w.spare)
	if n == 0 {
		return fastcgi.NewConn(conn, conn.Peer(), w.Config)
	}
	fc := w.spare[n-1]
	w.spare[n-1] = nil
	w.spare = w.spare[:n-1]
	fc.Reset(conn, conn.Peer())
	return fc
}

// putConn keeps fc for the next connection.
func (w *CoroutineWorker) putConn(fc *fastcgi.Conn) {
	fc.Reset(nil, "") // let go of the connection
	w.spare = append(w.spare, fc)
}

// serveRequest runs one request under its terminate timeout, recorded in
// a scoreboard slot of its own.
func (w *CoroutineWorker) serveRequest(c *coro.Co, conn *coro.Conn, rw *fastcgi.Response, r *fastcgi.Request, scripts fastcgi.Handler) {
	w.running++
	w.peak = max(w.peak, w.running)
	defer w.requestDone()
	var slot *scoreboard.Slot
	if w.Slot != nil {
		s, err := w.Slot()
		if err != nil {
			w.logf("%v", err)
		} else {
			slot = s
			defer w.Release(s)
		}
	}
	if w.Terminate > 0 {
		// request_terminate_timeout ends this request alone: its
		// coroutine's IO fails from now on, and its connection is closed,
		// so that the web server answers 502 as it does when php-fpm
		// kills a worker; the other requests go on.
		stop := w.sched.After(w.Terminate, func() {
			w.logf("script '%s' (request: \"%s %s\") execution timed out (%.6f sec), terminating its coroutine",
				r.Params.Get("SCRIPT_FILENAME"), r.Params.Get("REQUEST_METHOD"), r.Params.Get("REQUEST_URI"), w.Terminate.Seconds())
			conn.Close() // first: what the script writes from now on is lost
			c.Cancel(fmt.Errorf("request_terminate_timeout (%s)", w.Terminate))
		})
		defer stop()
	}
	if w.Serve != nil {
		w.Serve(slot, rw, r, scripts)
		return
	}
	scripts.ServeFastCGI(rw, r)
}

// requestDone counts a request out; the last one out after a burst sets
// off the release of its memory.
func (w *CoroutineWorker) requestDone() {
	w.running--
	if w.running > 0 || w.peak < releasePeak || w.stopping {
		return
	}
	w.idleSince = time.Now()
	if w.stopRelease == nil {
		w.stopRelease = w.sched.After(releaseIdle, w.release)
	}
}

// release gives the memory of the last burst back to the kernel
// (debug.FreeOSMemory: a collection, then the freed pages returned), once
// the worker has been without a request for releaseIdle. A request that
// came and went meanwhile postpones it.
func (w *CoroutineWorker) release() {
	w.stopRelease = nil
	if w.running > 0 { // busy again: its last request out sets it off again
		return
	}
	if wait := releaseIdle - time.Since(w.idleSince); wait > 0 {
		w.stopRelease = w.sched.After(wait, w.release)
		return
	}
	w.peak = 0
	w.free()
}

func (w *CoroutineWorker) logf(format string, args ...any) {
	if w.Logf != nil {
		w.Logf(format, args...)
	}
}

// coIO is the scripts' IO in a coroutine worker: Sleep and Get suspend the
// request's coroutine and let the others run.
type coIO struct {
	s      *coro.Scheduler
	client *coro.HTTPClient
}

func (io *coIO) Sleep(d time.Duration) { io.s.Current().Sleep(d) }

func (io *coIO) Get(url string) ([]byte, error) { return io.client.Get(io.s.Current(), url) }
