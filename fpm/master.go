package fpm

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/corofpm/corofpm/fpm/config"
)

// state is what the master is doing, php-fpm's pctl states: once it leaves
// normal it spawns no more workers, and when the last one has exited it
// exits (finishing, terminating) or executes itself again (reloading).
type state int

const (
	normal state = iota
	reloading
	finishing   // SIGQUIT: graceful stop
	terminating // SIGINT, SIGTERM: fast stop
)

var stateNames = [...]string{"normal", "reloading", "finishing", "terminating"}

func (s state) String() string { return stateNames[s] }

// Master is the FPM's master process: it opens each pool's listening
// socket, starts the workers, watches them, and turns signals into actions
// the way php-fpm's master does:
//
//	SIGINT, SIGTERM  fast stop: SIGTERM to every worker, then exit
//	SIGQUIT          graceful stop: SIGQUIT to every worker (it finishes the
//	                 request in hand), then exit
//	SIGUSR1          reopen the log files; workers are recycled gracefully so
//	                 they reopen theirs (access log, slowlog)
//	SIGUSR2          graceful reload: stop the workers gracefully, then exec
//	                 this program again, keeping the listening sockets open
//
// A stop or reload that does not finish in process_control_timeout is
// escalated: SIGQUIT becomes SIGTERM, then SIGTERM becomes SIGKILL a second
// later. Unlike php-fpm, whose default of 0 escalates at once and so cuts
// the requests in flight, a timeout of 0 here means wait as long as they
// take (request_terminate_timeout bounds that, when set).
type Master struct {
	// Config is the configuration the master runs.
	Config *config.Config
	// Log is the error log.
	Log *Log
	// Args is the command line a reload executes again (os.Args when nil):
	// the new master reads the configuration afresh.
	Args []string
	// Env is added to the environment of a reload's exec: a master that
	// runs as an fpm/proc child passes its proc.Child.Env, so that the new
	// program is the same child.
	Env []string
	// Ready, when set, is called once every pool is serving (tests and
	// chapters wait for it).
	Ready func()

	pools     []*pool
	listeners *listeners
	state     state
	// sent is the last signal sent to the workers in a stop or reload, and
	// escalate when to send the next, stronger one (zero: never).
	sent     syscall.Signal
	escalate time.Time
	// failures are the times workers died of a crash signal, for
	// emergency_restart_threshold.
	failures []time.Time
	signals  chan os.Signal
	// demand carries ondemand pools whose socket has a connection waiting.
	demand chan *pool
}

// Run runs the FPM until it is stopped. It returns nil after a stop, and
// does not return after a reload: the process becomes the new master.
func (m *Master) Run() error {
	if m.Args == nil {
		m.Args = os.Args
	}
	m.signals = make(chan os.Signal, 32)
	signal.Notify(m.signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT,
		syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGCHLD)
	defer signal.Stop(m.signals)
	m.demand = make(chan *pool, 16)

	if err := m.open(); err != nil {
		m.close()
		return err
	}
	m.Log.Printf(Notice, "fpm is running, pid %d", os.Getpid())
	for _, p := range m.pools {
		p.start()
	}
	m.Log.Printf(Notice, "ready to handle connections")
	if m.Ready != nil {
		m.Ready()
	}
	return m.loop()
}

// ANCHOR: master-loop
// loop is the master's event loop: signals, a heartbeat for the process
// manager and the request timeouts, and ondemand wake-ups. Every change
// to the workers happens here, in one goroutine, so none needs a lock.
func (m *Master) loop() error {
	every := m.heartbeat()
	beat := time.NewTicker(every)
	defer beat.Stop()
	lastMaintenance := time.Now()
	for {
		select {
		case sig := <-m.signals:
			m.onSignal(sig.(syscall.Signal))
		case now := <-beat.C:
			m.checkRequests(now)
			// Ticks jitter by microseconds either way: a strict 1 s
			// would skip every other second when the beat is 1 s.
			if now.Sub(lastMaintenance) >= time.Second-every/2 {
				lastMaintenance = now
				m.maintain()
			}
			if !m.escalate.IsZero() && now.After(m.escalate) {
				m.signalWorkers()
			}
		case p := <-m.demand:
			if m.state == normal {
				p.onDemand()
			}
		}
		if m.state != normal && m.running() == 0 {
			return m.last()
		}
	}
}

// ANCHOR_END: master-loop

// onSignal turns one signal into an action.
func (m *Master) onSignal(sig syscall.Signal) {
	switch sig {
	case syscall.SIGCHLD:
		m.reap()
	case syscall.SIGINT, syscall.SIGTERM:
		m.Log.Printf(Notice, "Terminating ...")
		m.setState(terminating)
	case syscall.SIGQUIT:
		m.Log.Printf(Notice, "Finishing ...")
		m.setState(finishing)
	case syscall.SIGUSR1:
		m.Log.Printf(Notice, "Reloading log files")
		if err := m.Log.Reopen(); err != nil {
			m.Log.Printf(Error, "%v", err)
		}
		m.Log.Printf(Notice, "error log file re-opened")
		for _, p := range m.pools {
			p.recycle() // the workers reopen their own logs as new processes
		}
	case syscall.SIGUSR2:
		m.Log.Printf(Notice, "Reloading in progress ...")
		m.setState(reloading)
	}
}

// setState starts a stop or a reload. A stronger request overrides a
// weaker one in progress (a SIGTERM during a graceful stop makes it fast);
// the same or a weaker one is ignored.
func (m *Master) setState(s state) {
	if s <= m.state {
		return
	}
	m.state = s
	m.sent = 0
	m.signalWorkers()
}

// signalWorkers sends the next signal of a stop: SIGQUIT (graceful) or
// SIGTERM (fast) first, then SIGTERM and SIGKILL when the workers take too
// long.
func (m *Master) signalWorkers() {
	var sig syscall.Signal
	wait := m.Config.Global.ProcessControlTimeout
	switch {
	case m.sent == 0 && m.state == terminating:
		sig, wait = syscall.SIGTERM, max(wait, time.Second)
	case m.sent == 0:
		sig = syscall.SIGQUIT // wait as configured; 0: as long as it takes
	case m.sent == syscall.SIGQUIT:
		sig, wait = syscall.SIGTERM, time.Second
	default:
		sig, wait = syscall.SIGKILL, time.Second
	}
	for _, p := range m.pools {
		p.signalAll(sig)
	}
	m.sent = sig
	m.escalate = time.Time{}
	if wait > 0 {
		m.escalate = time.Now().Add(wait)
	}
}

// reap collects every worker that has exited: SIGCHLD says at least one
// did, and several exits may share one signal.
func (m *Master) reap() {
	for _, p := range m.pools {
		for _, c := range p.reap() {
			if c.status.Signal == syscall.SIGSEGV || c.status.Signal == syscall.SIGBUS {
				m.crashed()
			}
		}
	}
}

// crashed counts a worker killed by a crash signal; too many in
// emergency_restart_interval reload the whole FPM, as php-fpm does.
func (m *Master) crashed() {
	g := m.Config.Global
	if g.EmergencyRestartThreshold <= 0 || g.EmergencyRestartInterval <= 0 || m.state != normal {
		return
	}
	now := time.Now()
	m.failures = append(m.failures, now)
	for len(m.failures) > 0 && now.Sub(m.failures[0]) > g.EmergencyRestartInterval {
		m.failures = m.failures[1:]
	}
	if len(m.failures) >= g.EmergencyRestartThreshold {
		m.Log.Printf(Warning, "failed processes threshold (%d in %d sec) is reached, initiating reload",
			g.EmergencyRestartThreshold, int(g.EmergencyRestartInterval.Seconds()))
		m.failures = nil
		m.setState(reloading)
	}
}

// maintain is the once-a-second work: the scoreboard's pool figures, and
// the process manager's decisions (spawn or stop idle workers).
func (m *Master) maintain() {
	for _, p := range m.pools {
		p.maintain(m.state == normal)
	}
}

// checkRequests applies request_slowlog_timeout and
// request_terminate_timeout.
func (m *Master) checkRequests(now time.Time) {
	for _, p := range m.pools {
		p.checkRequests(now)
	}
}

// heartbeat is how often the master looks at the workers: every second
// for the process manager, and often enough to apply the shortest request
// timeout within a third of it (php-fpm's rule), but not more than every
// 130 ms.
func (m *Master) heartbeat() time.Duration {
	beat := time.Second
	for _, p := range m.pools {
		for _, limit := range []time.Duration{p.cfg.RequestTerminateTimeout, p.cfg.RequestSlowlogTimeout} {
			if t := limit / 3; t > 0 && t < beat {
				beat = t
			}
		}
	}
	return max(beat, 130*time.Millisecond)
}

func (m *Master) running() int {
	n := 0
	for _, p := range m.pools {
		n += len(p.children)
	}
	return n
}

// last runs when the last worker has exited during a stop or a reload.
func (m *Master) last() error {
	if m.state == reloading {
		return m.exec()
	}
	m.close()
	m.Log.Printf(Notice, "exiting, bye-bye!")
	return nil
}

// exec replaces this process by a new master, on the same pid, handing it
// the listening sockets: connections that arrive meanwhile wait in their
// backlog and are served by the new workers.
func (m *Master) exec() error {
	env, err := m.listeners.handover()
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	m.Log.Printf(Notice, "reloading: execvp(%q, {%s})", exe, quoteAll(m.Args))
	for _, p := range m.pools {
		p.closeBoard()
	}
	signal.Stop(m.signals)
	err = syscall.Exec(exe, m.Args, append(append(os.Environ(), m.Env...), env))
	return fmt.Errorf("failed to reload: execvp() failed: %w", err)
}

func quoteAll(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = strconv.Quote(a)
	}
	return strings.Join(q, ", ")
}

// open prepares every pool: its socket (new, or inherited from the master
// before a reload), its scoreboard, and the pid file.
func (m *Master) open() error {
	ls, err := newListeners()
	if err != nil {
		return err
	}
	m.listeners = ls
	for i := range m.Config.Pools {
		p, err := newPool(m, &m.Config.Pools[i])
		if err != nil {
			return err
		}
		m.pools = append(m.pools, p)
	}
	ls.closeUnused()
	if pid := m.Config.Global.Pid; pid != "" {
		if err := os.WriteFile(pid, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			return fmt.Errorf("failed to create pid file (%s): %w", pid, err)
		}
	}
	return nil
}

// close releases what open took, after the last worker is gone.
func (m *Master) close() {
	for _, p := range m.pools {
		p.closeBoard()
	}
	if m.listeners != nil {
		m.listeners.closeAll()
	}
	if pid := m.Config.Global.Pid; pid != "" {
		if err := os.Remove(pid); err != nil && !errors.Is(err, os.ErrNotExist) {
			m.Log.Printf(Warning, "unable to remove the pid file (%s): %v", pid, err)
		}
	}
}
