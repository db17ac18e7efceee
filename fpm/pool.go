package fpm

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/corofpm/corofpm/fpm/config"
	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/fpm/scoreboard"
	"github.com/corofpm/corofpm/fpm/shm"
	"github.com/corofpm/corofpm/net/sock"
)

// WorkerRole is the fpm/proc role of a pool's worker process: a program
// that runs a Master passes Roles to proc.Main first thing in main.
const WorkerRole = "fpm-worker"

// pool is one [pool] of the configuration, seen from the master: its
// socket, its scoreboard, its workers, and the process manager's memory.
type pool struct {
	m   *Master
	cfg *config.Pool
	log func(Level, string, ...any)
	// spec is the configuration as the workers receive it (JSON in their
	// arguments: a re-executed child has no memory of ours).
	spec string
	ln   *sock.Listener
	// lnFile is the socket as the file each worker inherits as fd 3.
	lnFile *os.File
	seg    *shm.Segment
	board  *scoreboard.Board
	// children are the running workers, by pid.
	children map[int]*child
	// spawnRate is how many workers the next dynamic spawn may start: it
	// doubles each second the pool stays short of idle workers, up to
	// pm.max_spawn_rate, and falls back to 1 when it is not.
	spawnRate int
	// warnedMaxChildren keeps the max_children warning to once per episode.
	warnedMaxChildren bool
	// stopWatch ends an ondemand pool's socket watcher.
	stopWatch chan struct{}
}

// child is one worker process.
type child struct {
	proc    *proc.Process
	started time.Time
	// idleKill marks a worker the process manager stopped on purpose, so
	// its exit is not a surprise.
	idleKill bool
	// terminated marks a worker killed for request_terminate_timeout.
	terminated bool
	// slowSeen is the start of the last request logged as slow, so that
	// each slow request is logged once.
	slowSeen time.Time
	status   proc.Status
}

func newPool(m *Master, cfg *config.Pool) (*pool, error) {
	p := &pool{m: m, cfg: cfg, log: m.Log.Pool(cfg.Name), children: map[int]*child{}, spawnRate: 1}
	spec, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	p.spec = string(spec)
	ln, reused, err := m.listeners.listen(cfg.ListenAddress(), cfg.ListenBacklog)
	if err != nil {
		return nil, fmt.Errorf("[pool %s] cannot listen: %w", cfg.Name, err)
	}
	p.ln = ln
	if reused {
		p.log(Notice, "using inherited socket %s", ln.Addr)
	} else if sock.IsUnix(ln.Addr) {
		if err := p.ownSocket(); err != nil {
			return nil, err
		}
	}
	if p.lnFile, err = ln.File(); err != nil {
		return nil, err
	}
	// A slot per request in flight: one per blocking worker, as many as
	// it has coroutines per coroutine worker.
	slots := cfg.MaxChildren * p.capacity()
	p.seg, err = shm.Create("scoreboard-"+cfg.Name, scoreboard.Size(slots))
	if err != nil {
		return nil, err
	}
	p.board, err = scoreboard.New(p.seg, slots, cfg.Name, string(cfg.PM))
	if err != nil {
		return nil, err
	}
	return p, nil
}

// ownSocket applies listen.owner, listen.group and listen.mode to a unix
// socket's file, which decide who may connect (the web server's user).
func (p *pool) ownSocket() error {
	uid, gid, err := lookupOwner(p.cfg.ListenOwner, p.cfg.ListenGroup)
	if err != nil {
		return fmt.Errorf("[pool %s] %w", p.cfg.Name, err)
	}
	if uid >= 0 || gid >= 0 {
		if err := os.Lchown(p.ln.Addr, uid, gid); err != nil {
			return fmt.Errorf("[pool %s] failed to chown() the socket '%s': %w", p.cfg.Name, p.ln.Addr, err)
		}
	}
	if err := os.Chmod(p.ln.Addr, p.cfg.ListenMode); err != nil {
		return fmt.Errorf("[pool %s] failed to chmod() the socket '%s': %w", p.cfg.Name, p.ln.Addr, err)
	}
	return nil
}

// start starts the pool's first workers: pm.max_children for static,
// pm.start_servers for dynamic, none for ondemand, which starts one when a
// connection waits and no worker is idle.
func (p *pool) start() {
	n := p.cfg.MaxChildren
	switch p.cfg.PM {
	case config.Dynamic:
		n = p.cfg.StartServers
	case config.Ondemand:
		n = 0
		p.watch()
	}
	p.spawn(n)
}

// spawn starts n workers; a failure is logged and the next heartbeat tries
// again.
func (p *pool) spawn(n int) {
	for range n {
		if len(p.children) >= p.cfg.MaxChildren {
			return
		}
		pr, err := proc.Start(proc.Spec{
			Role:   WorkerRole,
			Args:   []string{p.spec},
			Files:  []*os.File{p.lnFile, p.seg.File()},
			Env:    envList(p.cfg.Env),
			Output: p.output(),
		})
		if err != nil {
			p.log(Error, "failed to start a child: %v", err)
			return
		}
		p.children[pr.Pid] = &child{proc: pr, started: time.Now()}
		p.log(Notice, "child %d started", pr.Pid)
	}
}

// envList is a pool's env[...] for its workers; a value "$NAME" is the
// master's own NAME, as in php-fpm.
func envList(env map[string]string) []string {
	var list []string
	for k, v := range env {
		if name, ok := strings.CutPrefix(v, "$"); ok {
			v = os.Getenv(name)
		}
		list = append(list, k+"="+v)
	}
	return list
}

// output is where a worker's stdout and stderr go: into the error log, a
// line at a time, with catch_workers_output; else nowhere, as php-fpm.
func (p *pool) output() func(pid int) io.Writer {
	if !p.cfg.CatchWorkersOutput {
		return nil
	}
	return func(pid int) io.Writer {
		r, w := io.Pipe()
		go func() {
			lines := bufio.NewScanner(r)
			for lines.Scan() {
				p.log(Warning, "child %d said into stderr: %q", pid, lines.Text())
			}
			r.CloseWithError(io.ErrClosedPipe)
		}()
		return w
	}
}

// reap collects the workers that have exited, logs how each ended, frees
// its scoreboard slot, and, in a running pool, replaces it when the process
// manager wants it replaced.
func (p *pool) reap() []*child {
	var gone []*child
	for pid, c := range p.children {
		st, ok, err := c.proc.TryWait()
		if err != nil || !ok {
			continue
		}
		c.status = st
		delete(p.children, pid)
		p.board.Reclaim(pid)
		gone = append(gone, c)
		level := Warning
		if st.Exited && st.Code == 0 || c.idleKill || p.m.state != normal {
			level = Notice
		}
		p.log(level, "child %d %s after %.6f seconds from start", pid, st, time.Since(c.started).Seconds())
	}
	if len(gone) > 0 && p.m.state == normal && p.cfg.PM == config.Static {
		p.spawn(p.cfg.MaxChildren - len(p.children))
	}
	return gone
}

// signalAll sends sig to every worker.
func (p *pool) signalAll(sig syscall.Signal) {
	for _, c := range p.children {
		c.proc.Signal(sig)
	}
}

// recycle stops every worker gracefully; the process manager replaces
// them.
func (p *pool) recycle() {
	for _, c := range p.children {
		c.idleKill = true
		c.proc.Signal(syscall.SIGQUIT)
	}
}

// ANCHOR: maintain
// maintain is the process manager's second: count idle and busy workers
// from the scoreboard, publish the figures, and for dynamic and ondemand
// pools decide whether to stop an idle worker or start more.
func (p *pool) maintain(running bool) {
	idle, active, oldestIdle := p.count()
	p.board.SetProcesses(idle, active)
	// From TCP_INFO, or the kernel's unix socket diagnostics: unlike
	// php-fpm's, the figures are real on a unix socket too.
	if queued, capacity, err := p.ln.AcceptQueue(); err == nil {
		p.board.SetListenQueue(queued, capacity)
	}
	if !running {
		return
	}
	switch p.cfg.PM {
	case config.Ondemand:
		// A worker idle longer than pm.process_idle_timeout goes.
		if oldestIdle != nil && time.Since(oldestIdle.since) > p.cfg.ProcessIdleTimeout {
			p.stopIdle(oldestIdle.c)
		}
	case config.Dynamic:
		switch {
		case idle > p.cfg.MaxSpareServers && oldestIdle != nil:
			p.stopIdle(oldestIdle.c) // one per second: shrink slowly
			p.spawnRate = 1
		case idle < p.cfg.MinSpareServers:
			room := p.cfg.MaxChildren - len(p.children)
			if room <= 0 {
				p.reachedMaxChildren()
				p.spawnRate = 1
				return
			}
			p.warnedMaxChildren = false
			if p.spawnRate >= 8 {
				p.log(Warning, "seems busy (you may need to increase pm.start_servers, or pm.min/max_spare_servers), spawning %d children, there are %d idle, and %d total children",
					p.spawnRate, idle, len(p.children))
			}
			p.spawn(min(p.spawnRate, p.cfg.MinSpareServers-idle, room))
			p.spawnRate = min(p.spawnRate*2, p.cfg.MaxSpawnRate)
		default:
			p.spawnRate = 1
		}
	}
}

// ANCHOR_END: maintain

// idleWorker is an idle worker and since when it has been idle.
type idleWorker struct {
	c     *child
	since time.Time
}

// capacity is how many requests one worker serves at once.
func (p *pool) capacity() int {
	if p.cfg.WorkerModel == config.Coroutine {
		return max(1, p.cfg.WorkerCoroutines)
	}
	return 1
}

// count reads the scoreboard: how many workers could take another request
// (idle: a blocking worker waiting in accept, a coroutine worker with a
// free coroutine, or one still starting) and how many could not (active),
// and which idle worker has waited longest since its last request.
func (p *pool) count() (idle, active int, oldest *idleWorker) {
	type load struct {
		busy    int
		lastEnd time.Time
	}
	loads := map[int]*load{}
	for _, s := range p.board.Snapshot() {
		if _, ok := p.children[s.PID]; !ok {
			continue
		}
		l := loads[s.PID]
		if l == nil {
			l = &load{}
			loads[s.PID] = l
		}
		if s.Stage.Busy() {
			l.busy++
			continue
		}
		end := s.RequestStart.Add(s.RequestDuration) // end of its last request
		if s.Requests == 0 {
			end = s.StartTime
		}
		if end.After(l.lastEnd) {
			l.lastEnd = end
		}
	}
	for pid, c := range p.children {
		l := loads[pid]
		if l == nil { // started, no slot taken yet: idle in a moment
			idle++
			continue
		}
		if l.busy >= p.capacity() {
			active++
			continue
		}
		idle++
		if l.busy == 0 && !l.lastEnd.IsZero() && (oldest == nil || l.lastEnd.Before(oldest.since)) {
			oldest = &idleWorker{c: c, since: l.lastEnd}
		}
	}
	return idle, active, oldest
}

func (p *pool) stopIdle(c *child) {
	if c.idleKill {
		return
	}
	c.idleKill = true
	c.proc.Signal(syscall.SIGQUIT)
}

func (p *pool) reachedMaxChildren() {
	if p.warnedMaxChildren {
		return
	}
	p.warnedMaxChildren = true
	p.board.CountMaxChildrenReached()
	p.log(Warning, "server reached pm.max_children setting (%d), consider raising it", p.cfg.MaxChildren)
}

// checkRequests watches the requests in flight: one that runs past
// request_slowlog_timeout is logged (its worker writes the slow log), one
// that runs past request_terminate_timeout gets its worker killed:
// php-fpm's answer to a script stuck for ever. The web server sees the
// connection close and answers 502.
func (p *pool) checkRequests(now time.Time) {
	slow, limit := p.cfg.RequestSlowlogTimeout, p.cfg.RequestTerminateTimeout
	if slow <= 0 && limit <= 0 {
		return
	}
	for _, s := range p.board.Snapshot() {
		c, ok := p.children[s.PID]
		if !ok || c.terminated || !s.Stage.Busy() || s.Stage >= scoreboard.Ending {
			continue
		}
		took := now.Sub(s.RequestStart)
		if slow > 0 && took > slow && !c.slowSeen.Equal(s.RequestStart) && p.cfg.WorkerModel != config.Coroutine {
			c.slowSeen = s.RequestStart
			p.log(Warning, "child %d, script '%s' (request: \"%s %s\") executing too slow (%.6f sec), logging",
				s.PID, s.Script, s.Method, s.URI, took.Seconds())
		}
		// A coroutine worker ends the one request itself; a blocking
		// worker must die for it.
		if limit > 0 && took > limit && p.cfg.WorkerModel != config.Coroutine {
			c.terminated = true
			p.log(Warning, "child %d, script '%s' (request: \"%s %s\") execution timed out (%.6f sec), terminating",
				s.PID, s.Script, s.Method, s.URI, took.Seconds())
			c.proc.Signal(syscall.SIGTERM)
		}
	}
}

// closeBoard stops the socket watcher and unmaps the scoreboard.
func (p *pool) closeBoard() {
	if p.stopWatch != nil {
		close(p.stopWatch)
		p.stopWatch = nil
	}
	if p.lnFile != nil {
		p.lnFile.Close()
		p.lnFile = nil
	}
	if p.seg != nil {
		p.seg.Close()
		p.seg = nil
	}
}
