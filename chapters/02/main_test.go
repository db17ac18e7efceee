package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/chaptertest"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/corofpm/corofpm/tutorial/peer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The test binary plays every child's role when the chapter re-executes
// it: greeters, spinners, the daemon...
func TestMain(m *testing.M) {
	proc.Main(roles)
	// Under -race, every child that exits by itself would first sleep a
	// second (the race runtime's atexit_sleep_ms), and the cost step would
	// measure that sleep. The children inherit this environment.
	if os.Getenv("GORACE") == "" {
		os.Setenv("GORACE", "atexit_sleep_ms=0")
	}
	m.Run()
}

// TestChapter runs the walkthrough in quick mode and checks what it
// teaches from what it measured.
func TestChapter(t *testing.T) {
	var out bytes.Buffer
	res, err := run(narrator.New(&out), &chapter.Options{Quick: true})
	t.Log("\n" + out.String())
	// Whatever happened, the daemon must not outlive the test.
	if res.Daemon.Detacher != 0 {
		for _, pid := range inSession(res.Daemon.Detacher) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("process %d of the daemon's session %d was left running", pid, res.Daemon.Detacher)
		}
	}
	require.NoError(t, err)

	t.Run("threads", func(t *testing.T) {
		th := res.Threads
		assert.Greater(t, th.AtStart, 1, "a Go program runs more than one thread")
		// A thread per goroutine in read(2), one for sysmon, one at least
		// running Go code. (Not more than at the start: the runtime keeps
		// idle threads, so a second run in one process may reuse them.)
		assert.GreaterOrEqual(t, th.While, th.Blocked+2, "goroutines blocked in read(2) hold threads of their own")
	})
	t.Run("fds", func(t *testing.T) { checkGreeting(t, res.Greeting) })
	t.Run("endings", func(t *testing.T) { checkEndings(t, res.Endings) })
	t.Run("reaping", func(t *testing.T) {
		r := res.Reaping
		assert.Equal(t, r.Children, r.Reaped, "every child reaped")
		assert.Positive(t, r.Signals, "at least one SIGCHLD arrived")
		assert.LessOrEqual(t, r.Signals, r.Reaped, "no more signals than children")
		sum := 0
		for _, p := range r.Passes {
			sum += p
		}
		assert.Equal(t, r.Reaped, sum, "the passes add up")
		t.Logf("%d children, %d SIGCHLD, reaped in passes %v", r.Children, r.Signals, r.Passes)
	})
	t.Run("daemon", func(t *testing.T) { checkDaemon(t, res.Daemon) })
	t.Run("exec", func(t *testing.T) {
		c := res.Command
		assert.Equal(t, fmt.Sprintf("sh %d, child of %d\n", c.Pid, os.Getpid()), c.Stdout)
		assert.Equal(t, "something went wrong\n", c.Stderr)
		assert.Equal(t, 3, c.Code)
	})
	t.Run("cost", func(t *testing.T) {
		c := res.Cost
		assert.Equal(t, settingsFor(true).starts, c.Starts)
		assert.Positive(t, c.Reexec.Median)
		assert.Positive(t, c.True.Median)
		assert.GreaterOrEqual(t, c.Reexec.P90, c.Reexec.Median)
		assert.GreaterOrEqual(t, c.True.P90, c.True.Median)
		assert.InDelta(t, float64(c.Reexec.Median)/float64(c.True.Median), c.Ratio, 1e-9, "the ratio is computed from the two medians")
		t.Logf("re-exec %v, true %v: %.1fx", c.Reexec.Median, c.True.Median, c.Ratio)
	})

	children, err := peer.Children()
	require.NoError(t, err)
	assert.Empty(t, children, "the chapter left processes behind")
}

// checkGreeting: both greeters got the pipe as fd 3 and the socket as fd
// 4 (the same kernel objects as the chapter's), and each accepted one of
// the chapter's connections.
func checkGreeting(t *testing.T, g greeting) {
	require.Len(t, g.Pids, 2)
	assert.ElementsMatch(t, []string{
		fmt.Sprintf("pid %d says hello on fd 3", g.Pids[0]),
		fmt.Sprintf("pid %d says hello on fd 3", g.Pids[1]),
	}, g.PipeLines)
	fds := map[int]string{}
	for _, e := range g.Fds {
		fds[e.Fd] = e.Target
	}
	assert.Regexp(t, `^pipe:\[\d+\]$`, g.Pipe)
	assert.Regexp(t, `^socket:\[\d+\]$`, g.Socket)
	assert.Equal(t, g.Pipe, fds[3], "fd 3 of the child is our pipe")
	assert.Equal(t, g.Socket, fds[4], "fd 4 of the child is our listening socket")
	for fd, target := range fds {
		if fd != 4 {
			assert.NotEqual(t, g.Socket, target, "the socket is at fd 4 only, not also at fd %d", fd)
		}
	}
	assert.Equal(t, "greeter", g.Env[proc.EnvRole])
	assert.Equal(t, "2", g.Env[proc.EnvFiles])
	assert.Greater(t, g.Threads, 1, "the child runs a Go runtime of its own")
	require.Len(t, g.Answers, 2)
	assert.ElementsMatch(t, []string{
		fmt.Sprintf("pid %d accepted you on its fd 4", g.Pids[0]),
		fmt.Sprintf("pid %d accepted you on its fd 4", g.Pids[1]),
	}, g.Answers, "each connection was accepted by a different child")
	for _, st := range g.Statuses {
		assert.Equal(t, "exited with code 0", st.String())
	}
}

// checkEndings: exit codes and signals are told apart, SIGQUIT is the Go
// runtime's exit code 2, and a spinner's CPU time is what it burned.
func checkEndings(t *testing.T, endings []ending) {
	require.Len(t, endings, 6)
	want := []struct {
		exited bool
		code   int
		signal syscall.Signal
	}{
		{true, 0, 0},
		{true, 3, 0},
		{false, 0, syscall.SIGTERM},
		{false, 0, syscall.SIGKILL},
		{true, 2, 0},
		{false, 0, syscall.SIGABRT},
	}
	for i, e := range endings {
		st := e.Status
		assert.Equal(t, want[i].exited, st.Exited, "%s: %v", e.What, st)
		if want[i].exited {
			assert.Equal(t, want[i].code, st.Code, "%s: %v", e.What, st)
		} else {
			assert.Equal(t, want[i].signal, st.Signal, "%s: %v", e.What, st)
		}
		if e.Burn > 0 {
			// It spun until its own CPU clock said Burn; rusage counts the
			// same CPU.
			assert.GreaterOrEqual(t, st.User+st.System, e.Burn*9/10, "%s: CPU time from rusage", e.What)
		}
	}
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_CORE, &lim))
	if lim.Cur == 0 {
		for _, e := range endings {
			assert.False(t, e.Status.CoreDump, "%s: no core with RLIMIT_CORE 0", e.What)
		}
	}
}

// checkDaemon: the daemon ran in another session, which it did not lead,
// with no terminal, re-parented to the chapter (the subreaper); SIGTERM by
// its pid file stopped it and it removed its pid file.
func checkDaemon(t *testing.T, d daemonSeen) {
	assert.NotZero(t, d.Daemon.Pid)
	assert.NotEqual(t, d.Chapter.Sid, d.Daemon.Sid, "the daemon has a session of its own")
	assert.Equal(t, d.Detacher, d.Daemon.Sid, "the detacher's session")
	assert.NotEqual(t, d.Daemon.Pid, d.Daemon.Sid, "the daemon is not its session's leader")
	assert.Zero(t, d.Daemon.TtyNr, "the daemon has no controlling terminal")
	assert.Equal(t, os.Getpid(), d.Daemon.Ppid, "re-parented to the chapter, its subreaper")
	assert.Equal(t, "exited with code 0", d.Status.String(), "it stopped cleanly on SIGTERM")
	assert.True(t, d.Gone, "the daemon is gone")
	assert.True(t, chaptertest.Gone(d.Daemon.Pid), "the daemon is gone")
	assert.True(t, d.FileGone, "the pid file was removed")
	assert.NoFileExists(t, d.PidFile)
	assert.Empty(t, inSession(d.Detacher), "nothing left in the daemon's session")
	require.Len(t, d.Log, 2, "the daemon's log")
	assert.Contains(t, d.Log[0], fmt.Sprintf("pid %d, session %d: started", d.Daemon.Pid, d.Detacher))
}

// TestServe runs -serve on a unix socket behind nginx, asks /hello.php
// with curl, kills the worker with SIGKILL, asks again (the socket kept
// the request until the next worker took it), then stops with ^C and
// checks that nothing the chapter started is left.
func TestServe(t *testing.T) {
	peer.Need(t, "nginx", "curl")
	s := chaptertest.Serve(t, "-listen", filepath.Join(t.TempDir(), "fpm.sock"))
	url := regexp.MustCompile(`curl (http://\S+/hello.php)`).FindStringSubmatch(s.Printed)
	require.NotNil(t, url, s.Printed)
	m := regexp.MustCompile(`master (\d+) listens .* worker (\d+) inherited`).FindStringSubmatch(s.Printed)
	require.NotNil(t, m, s.Printed)
	master, _ := strconv.Atoi(m[1])
	worker, _ := strconv.Atoi(m[2])
	curl := func() string {
		t.Helper()
		body, err := exec.Command("curl", "-sS", "--max-time", "10", url[1]).Output()
		require.NoError(t, err)
		return string(body)
	}
	assert.Equal(t, "Hello from corofpm\n", curl())

	require.NoError(t, syscall.Kill(worker, syscall.SIGKILL))
	assert.Equal(t, "Hello from corofpm\n", curl(), "the next worker answers")
	assert.Eventually(t, func() bool { return chaptertest.Gone(worker) }, 5*time.Second, 10*time.Millisecond,
		"the killed worker %d was reaped", worker)
	kids := childrenOf(master)
	assert.NotEmpty(t, kids, "a new worker and nginx run")
	s.Stop(t)
	for _, pid := range kids {
		assert.True(t, chaptertest.Gone(pid), "process %d of the chapter was left running", pid)
	}
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	all, _ := numbers("/proc")
	var kids []int
	for _, p := range all {
		if s, err := readStat(p); err == nil && s.Ppid == pid {
			kids = append(kids, p)
		}
	}
	return kids
}
