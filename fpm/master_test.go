package fpm_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/corofpm/corofpm/fpm"
	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/fpm/script"
	"github.com/corofpm/corofpm/net/fastcgi"
	"github.com/corofpm/corofpm/tutorial/fpmrun"
	"github.com/corofpm/corofpm/tutorial/peer"
)

func TestMain(m *testing.M) {
	proc.Main(fpm.Roles(script.Default(script.Blocking{}, "")))
	os.Exit(m.Run())
}

// start runs an FPM for the test and makes sure it is gone after.
func start(t *testing.T, pool string) *fpmrun.FPM {
	t.Helper()
	dir := t.TempDir()
	out, err := os.Create(filepath.Join(dir, "master.out"))
	require.NoError(t, err)
	defer out.Close()
	f, err := fpmrun.Start(dir, pool, out)
	if err != nil {
		b, _ := os.ReadFile(out.Name())
		t.Fatalf("%v\nthe master's stderr:\n%s", err, b)
	}
	t.Cleanup(func() {
		f.Kill()
		if kids, _ := peer.ChildrenOf(f.Master.Pid); len(kids) > 0 {
			t.Errorf("workers %v outlived their master", kids)
		}
		if t.Failed() {
			t.Logf("the master's log:\n%s", f.LogText())
		}
	})
	return f
}

func hello(t *testing.T, f *fpmrun.FPM) {
	t.Helper()
	resp, err := f.Get("/hello.php", "")
	require.NoError(t, err)
	assert.Equal(t, "Hello from corofpm\n", string(resp.Body))
}

func workers(t *testing.T, f *fpmrun.FPM, want int) []int {
	t.Helper()
	var pids []int
	require.Eventually(t, func() bool {
		pids, _ = f.Workers()
		return len(pids) == want
	}, 10*time.Second, 20*time.Millisecond, "want %d workers", want)
	slices.Sort(pids)
	return pids
}

func TestStaticPoolServesAndRespawnsAKilledWorker(t *testing.T) {
	f := start(t, "pm = static\npm.max_children = 2\n")
	before := workers(t, f, 2)
	hello(t, f)

	require.NoError(t, syscall.Kill(before[0], syscall.SIGKILL))
	line, err := f.WaitLog(fmt.Sprintf("child %d exited on signal 9 (SIGKILL)", before[0]), 5*time.Second)
	require.NoError(t, err)
	assert.Contains(t, line, "WARNING: [pool www]")
	_, err = f.WaitLog("started", 5*time.Second)
	require.NoError(t, err)
	after := workers(t, f, 2)
	assert.NotContains(t, after, before[0])
	assert.Contains(t, after, before[1])
	hello(t, f)
}

func TestGracefulStopFinishesTheRequestInHand(t *testing.T) {
	f := start(t, "pm = static\npm.max_children = 1\n")
	done := make(chan error, 1)
	var body string
	go func() {
		resp, err := f.Get("/sleep.php", "ms=800")
		if err == nil {
			body = string(resp.Body)
		}
		done <- err
	}()
	time.Sleep(300 * time.Millisecond) // the request is in the worker
	st, err := f.Stop(10 * time.Second)
	require.NoError(t, err)
	assert.Equal(t, "exited with code 0", st.String())
	require.NoError(t, <-done, "SIGQUIT lets the worker finish the request")
	assert.Equal(t, "slept 800 ms\n", body)
	log := f.LogText()
	assert.Contains(t, log, "NOTICE: Finishing ...")
	assert.Contains(t, log, "exiting, bye-bye!")
	_, err = os.Stat(filepath.Join(f.Dir, "fpm.pid"))
	assert.ErrorIs(t, err, os.ErrNotExist, "the pid file is removed")
}

func TestFastStopDoesNotWait(t *testing.T) {
	f := start(t, "pm = static\npm.max_children = 1\n")
	done := make(chan error, 1)
	go func() {
		_, err := f.Get("/sleep.php", "ms=5000")
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, f.Signal(syscall.SIGTERM))
	st, err := f.Master.Wait()
	require.NoError(t, err)
	assert.Equal(t, "exited with code 0", st.String())
	assert.Error(t, <-done, "SIGTERM cuts the request in flight")
	assert.Contains(t, f.LogText(), "exited on signal 15 (SIGTERM)")
}

func TestReloadKeepsTheSocketAndLosesNoRequest(t *testing.T) {
	f := start(t, "pm = static\npm.max_children = 2\n")
	before := workers(t, f, 2)

	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, failed := 0, []error{}
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_, err := f.Get("/sleep.php", "ms=20")
				mu.Lock()
				if err != nil {
					failed = append(failed, err)
				} else {
					ok++
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	require.NoError(t, f.Signal(syscall.SIGUSR2))
	_, err := f.WaitLog("using inherited socket "+f.Addr, 10*time.Second)
	require.NoError(t, err)
	_, err = f.WaitLog("ready to handle connections", 10*time.Second)
	require.NoError(t, err)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()

	assert.Empty(t, failed, "no request fails across the reload")
	assert.Greater(t, ok, 20)
	after := workers(t, f, 2)
	for _, pid := range after {
		assert.NotContains(t, before, pid, "new workers after the reload")
	}
	_, exited, _ := f.Master.TryWait()
	assert.False(t, exited, "the master keeps its pid: it exec'd itself")
	hello(t, f)
}

func TestDynamicPoolGrowsUnderLoadThenShrinks(t *testing.T) {
	f := start(t, "pm = dynamic\npm.max_children = 5\npm.start_servers = 1\npm.min_spare_servers = 1\npm.max_spare_servers = 2\n")
	workers(t, f, 1)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.Get("/sleep.php", "ms=4000")
		}()
		time.Sleep(300 * time.Millisecond)
	}
	require.Eventually(t, func() bool {
		pids, _ := f.Workers()
		return len(pids) >= 4
	}, 8*time.Second, 50*time.Millisecond, "the process manager spawns while no worker is idle")
	wg.Wait()
	// Five idle workers, max_spare_servers 2: one goes each second.
	require.Eventually(t, func() bool {
		pids, _ := f.Workers()
		return len(pids) <= 2
	}, 8*time.Second, 100*time.Millisecond, "idle workers above max_spare_servers are stopped")
	assert.NotContains(t, f.LogText(), "WARNING: [pool www] child", "idle workers are stopped gracefully, exit 0")
}

func TestOndemandStartsAWorkerPerNeedAndStopsIdleOnes(t *testing.T) {
	f := start(t, "pm = ondemand\npm.max_children = 3\npm.process_idle_timeout = 1s\n")
	workers(t, f, 0)
	hello(t, f)
	_, err := f.WaitLog("started", time.Second)
	require.NoError(t, err)
	_, err = f.WaitLog("exited with code 0", 5*time.Second)
	require.NoError(t, err, "an idle worker goes after pm.process_idle_timeout")
	workers(t, f, 0)
}

func TestRequestTerminateTimeoutKillsTheWorker(t *testing.T) {
	f := start(t, "pm = static\npm.max_children = 1\nrequest_terminate_timeout = 2s\nrequest_slowlog_timeout = 1s\nslowlog = slow.log\n")
	before := workers(t, f, 1)
	_, err := f.Get("/sleep.php", "ms=4000")
	assert.Error(t, err, "the connection closes without an answer")
	line, err := f.WaitLog("executing too slow", 2*time.Second)
	require.NoError(t, err)
	assert.Contains(t, line, `script '/sleep.php' (request: "GET /sleep.php?ms=4000")`)
	_, err = f.WaitLog("execution timed out", 2*time.Second)
	require.NoError(t, err)
	_, err = f.WaitLog(fmt.Sprintf("child %d exited on signal 15 (SIGTERM)", before[0]), 2*time.Second)
	require.NoError(t, err)
	after := workers(t, f, 1)
	assert.NotEqual(t, before, after)
	hello(t, f)
	slow, err := os.ReadFile(filepath.Join(f.Dir, "slow.log"))
	require.NoError(t, err)
	assert.Contains(t, string(slow), "script_filename = /sleep.php")
	assert.Contains(t, string(slow), "script.Sleep", "the slow log shows where the script waits")
}

func TestStatusAndPing(t *testing.T) {
	f := start(t, "pm = static\npm.max_children = 2\npm.status_path = /status\nping.path = /ping\nping.response = alive\n")
	resp, err := f.Get("/ping", "")
	require.NoError(t, err)
	assert.Equal(t, "alive\n", string(resp.Body))
	hello(t, f)
	time.Sleep(1100 * time.Millisecond) // one maintenance second
	resp, err = f.Get("/status", "")
	require.NoError(t, err)
	body := string(resp.Body)
	assert.Contains(t, body, "pool:                 www\n")
	assert.Contains(t, body, "process manager:      static\n")
	assert.Contains(t, body, "accepted conn:        3\n")
	assert.Contains(t, body, "total processes:      2\n")
	resp, err = f.Get("/status", "json&full")
	require.NoError(t, err)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Contains(t, string(resp.Body), `"request uri":"/status?json\u0026full"`)
	assert.Contains(t, string(resp.Body), `"state":"Running"`)
}

func TestMaxRequestsReplacesTheWorker(t *testing.T) {
	f := start(t, "pm = static\npm.max_children = 1\npm.max_requests = 2\n")
	first := workers(t, f, 1)
	hello(t, f)
	hello(t, f)
	_, err := f.WaitLog(fmt.Sprintf("child %d exited with code 0", first[0]), 5*time.Second)
	require.NoError(t, err)
	hello(t, f)
	assert.NotEqual(t, first, workers(t, f, 1))
}

func TestUSR1ReopensTheLog(t *testing.T) {
	f := start(t, "pm = static\npm.max_children = 1\naccess.log = access.log\n")
	hello(t, f)
	require.NoError(t, os.Rename(f.Log, f.Log+".1"))
	require.NoError(t, f.Signal(syscall.SIGUSR1))
	_, err := f.WaitLog("error log file re-opened", 5*time.Second)
	require.NoError(t, err)
	old, err := os.ReadFile(f.Log + ".1")
	require.NoError(t, err)
	assert.Contains(t, string(old), "Reloading log files")
	access, err := os.ReadFile(filepath.Join(f.Dir, "access.log"))
	require.NoError(t, err)
	assert.Contains(t, string(access), `"GET /hello.php" 200`)
}

func TestAllowedClientsDropsOthers(t *testing.T) {
	f := start(t, "pm = static\npm.max_children = 1\nlisten.allowed_clients = 10.0.0.1\n")
	_, err := f.Get("/hello.php", "")
	assert.Error(t, err, "127.0.0.1 is not allowed")
}

// dawdler writes in pieces with a pause before each, as a slow client on a
// bad network, or nginx holding a kept connection idle, would.
type dawdler struct {
	net.Conn
	pause time.Duration
}

func (d *dawdler) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		time.Sleep(d.pause)
		piece := p[:min(len(p), 16)]
		m, err := d.Conn.Write(piece)
		n += m
		if err != nil {
			return n, err
		}
		p = p[m:]
	}
	return n, nil
}

func TestASlowClientIsServed(t *testing.T) {
	f := start(t, "pm = static\npm.max_children = 1\n")
	conn, err := net.DialTimeout("tcp", f.Addr, 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	reply, err := fastcgi.NewClient(&dawdler{Conn: conn, pause: 700 * time.Millisecond}).Do(fastcgi.Call{
		Params: map[string]string{"SCRIPT_NAME": "/hello.php"},
	})
	require.NoError(t, err, "pauses longer than the listener's accept timeout do not cut the request")
	assert.Contains(t, string(reply.Stdout), "Hello from corofpm")
}

func TestMaintenanceRunsEverySecond(t *testing.T) {
	f := start(t, "pm = dynamic\npm.max_children = 10\npm.start_servers = 5\npm.min_spare_servers = 5\npm.max_spare_servers = 5\n")
	workers(t, f, 5)
	for range 5 {
		go f.Get("/sleep.php", "ms=5000")
	}
	require.Eventually(t, func() bool { pids, _ := f.Workers(); return len(pids) == 10 },
		3800*time.Millisecond, 20*time.Millisecond, "5 + 1 + 2 + 2 workers after three maintenance seconds (a skipped second takes 4 s or more)")
}
