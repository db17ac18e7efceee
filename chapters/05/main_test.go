package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/tutorial/bench"
	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/chaptertest"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/corofpm/corofpm/tutorial/peer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The test binary plays the FPM's master and workers, and the counter,
// when the chapter re-executes it.
func TestMain(m *testing.M) {
	proc.Main(roles())
	os.Exit(m.Run())
}

// TestChapter runs the walkthrough and checks what it teaches from what it
// measured.
func TestChapter(t *testing.T) {
	peer.Need(t, "nginx")
	var out bytes.Buffer
	res, err := run(narrator.New(&out), &chapter.Options{Quick: true})
	require.NoError(t, err, out.String())
	t.Log("\n" + out.String())

	p := res.Pipe
	assert.Len(t, p.Loop, res.Settings.rounds, "every kill(getpid()) reached the loop")
	assert.Equal(t, 1, p.StoppedDelivered, "the kernel holds one pending SIGUSR1 however many were sent")
	assert.Positive(t, p.Delivered, "the burst reached the running process")
	assert.LessOrEqual(t, p.Delivered, p.Sent)
	if p.Delivered == p.Sent {
		t.Logf("no coalescing in the running process this time: os/signal kept pace with %d kills", p.Sent)
	}

	r := res.Respawn
	assert.NotZero(t, r.Replacement)
	assert.NotContains(t, r.Before, r.Replacement, "the replacement is a new process")
	assert.Contains(t, r.After, r.Replacement)
	assert.NotContains(t, r.After, r.Victim)
	assert.Len(t, r.After, 4, "back to pm.max_children")
	assert.Zero(t, r.Failed, "the other workers served every request")
	assert.Positive(t, r.Requests)
	assert.Positive(t, r.Ready) // and under 5 s, or the step failed
	assert.True(t, slices.ContainsFunc(r.Lines, func(l string) bool {
		return regexp.MustCompile(`child ` + strconv.Itoa(r.Victim) + ` exited on signal 9 \(SIGKILL\)`).MatchString(l)
	}), "the master logged the reap: %q", r.Lines)

	require.Len(t, res.Stops, 2)
	quit, term := res.Stops[0], res.Stops[1]
	assert.Equal(t, syscall.SIGQUIT, quit.Signal)
	assert.Equal(t, 200, quit.Status, "SIGQUIT lets the worker finish the request")
	assert.Equal(t, "exited with code 0", quit.Worker)
	assert.LessOrEqual(t, quit.Answered, quit.Exited, "the master exits after the request is answered")
	assert.Equal(t, 502, term.Status, "SIGTERM kills the worker; nginx answers 502")
	assert.Equal(t, "exited on signal 15 (SIGTERM)", term.Worker)
	// The request's fate, not the master's exit time: under -race every Go
	// process sleeps a second in os.Exit (GORACE atexit_sleep_ms).
	assert.Less(t, term.Answered, quit.Answered, "a fast stop does not wait for the request")
	for _, s := range res.Stops {
		assert.Equal(t, "exited with code 0", s.Exit.String(), "%s: the master's exit", proc.SignalName(s.Signal))
	}

	o := res.Reopen
	assert.Contains(t, o.OldLast, "Reloading log files", "the rotated file ends with the signal's notice")
	assert.Contains(t, o.FirstLine, "error log file re-opened", "the new file begins after the reopen")
	assertAllNew(t, o.Before, o.After, "USR1 recycles the workers")

	l := res.Reload
	assert.Zero(t, l.Failed(), "no request fails across the reload: %v", l.Load.Status)
	assert.Greater(t, l.Requests(), 4*res.Settings.clients, "a load, not a few requests")
	assert.Equal(t, l.MasterBefore, l.MasterAfter, "the master keeps its pid: it exec'd itself")
	assert.True(t, l.Running, "the master never exited")
	assertAllNew(t, l.Before, l.After, "USR2 starts new workers")
	assert.True(t, slices.ContainsFunc(l.Lines, func(s string) bool { return regexp.MustCompile(`using inherited socket`).MatchString(s) }),
		"the new master found the socket: %q", l.Lines)

	children, err := peer.Children()
	require.NoError(t, err)
	assert.Empty(t, children, "the chapter left processes behind")
}

func assertAllNew(t *testing.T, before, after []int, msg string) {
	t.Helper()
	assert.Len(t, after, len(before), msg)
	for _, pid := range after {
		assert.NotContains(t, before, pid, msg)
	}
}

// TestReloadUnderWrk checks the reload with a load generator that is not
// ours: wrk through nginx, SIGUSR2 in the middle, and wrk counts no error.
func TestReloadUnderWrk(t *testing.T) {
	peer.Need(t, "nginx", "wrk")
	s, err := startStack(t.TempDir(), "wrk")
	require.NoError(t, err)
	defer func() { assert.NoError(t, s.stop()) }()
	before, err := idleWorkers(s, 4)
	require.NoError(t, err)
	go func() {
		time.Sleep(time.Second)
		s.fpm.Signal(syscall.SIGUSR2)
	}()
	w, err := bench.RunWrk(s.ngx.URL("/sleep.php?ms=10"), 8, 3*time.Second)
	require.NoError(t, err)
	_, err = s.fpm.WaitLog("using inherited socket", 5*time.Second)
	require.NoError(t, err, "the reload happened during the run")
	assert.Zero(t, w.Errors(), "wrk: %+v", w)
	assert.Greater(t, w.Requests, 100)
	after, err := idleWorkers(s, 4)
	require.NoError(t, err)
	assertAllNew(t, before, after, "new workers")
}

// TestServe runs -serve, asks /hello.php through nginx with curl, stops it
// with ^C and checks that the master, its workers and nginx are gone.
func TestServe(t *testing.T) {
	peer.Need(t, "nginx", "curl")
	port, err := peer.FreePort()
	require.NoError(t, err)
	s := chaptertest.Serve(t, "-listen", "127.0.0.1:"+strconv.Itoa(port))
	url := regexp.MustCompile(`curl (http://\S+/hello.php)`).FindStringSubmatch(s.Printed)
	require.NotNil(t, url, s.Printed)
	body, err := exec.Command("curl", "-sS", "--max-time", "10", url[1]).Output()
	require.NoError(t, err)
	assert.Equal(t, "Hello from corofpm\n", string(body))
	m := regexp.MustCompile(`master (\d+), workers \[([\d ]+)\] on \S+; nginx (\d+)`).FindStringSubmatch(s.Printed)
	require.NotNil(t, m, s.Printed)
	var pids []int
	for _, f := range append([]string{m[1], m[3]}, regexp.MustCompile(`\d+`).FindAllString(m[2], -1)...) {
		pid, err := strconv.Atoi(f)
		require.NoError(t, err)
		pids = append(pids, pid)
	}
	require.Len(t, pids, 6, "master, nginx and 4 workers")
	log := regexp.MustCompile(`tail -f (\S+)`).FindStringSubmatch(s.Printed)
	require.NotNil(t, log, s.Printed)
	assert.Equal(t, "fpm.log", filepath.Base(log[1]))

	s.Stop(t)
	for _, pid := range pids {
		assert.True(t, chaptertest.Gone(pid), "process %d left running", pid)
	}
}
