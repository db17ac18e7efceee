package main

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"os/exec"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/chaptertest"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestChapter runs the walkthrough and checks what it teaches from what it
// measured.
func TestChapter(t *testing.T) {
	var out bytes.Buffer
	res, err := run(narrator.New(&out), &chapter.Options{Quick: true})
	require.NoError(t, err, out.String())
	t.Log("\n" + out.String())
	cfg := res.Settings

	// Every GET got its own answer, all within two delays, on one thread.
	g := res.Gets
	assert.Equal(t, cfg.gets, g.OK)
	assert.Less(t, g.Elapsed, 2*cfg.delay, "%d GETs of %s overlapped", cfg.gets, cfg.delay)
	assert.Equal(t, 1, g.Threads)
	assert.Equal(t, int64(cfg.gets), g.Dials)

	// The plain call held everyone: the ticker for its whole length, and
	// no other GET could even be sent before it returned, so none came
	// back before block + delay. Hooked, the first came back in about one
	// delay.
	st := res.Stall
	assert.GreaterOrEqual(t, st.Plain.MaxGap, cfg.block)
	assert.GreaterOrEqual(t, st.Plain.Min, cfg.block+cfg.delay)
	assert.Less(t, st.Hooked.Min, cfg.block+cfg.delay)
	assert.GreaterOrEqual(t, st.Plain.P50-st.Hooked.P50, cfg.block/2, "the others' latency jumped by about the blocking time")

	// The commands ran at once, each with its own output and exit code.
	e := res.Execs
	assert.Equal(t, cfg.execs, e.Right)
	assert.Less(t, e.Elapsed, time.Duration(cfg.execs)*cfg.nap/2)

	// Each timeout fired at its time, long before the slow side was done.
	require.Len(t, res.Timeouts, 3)
	for _, r := range res.Timeouts {
		assert.True(t, r.Fired(), "%s: after %s, %v", r.What, r.After, r.Err)
		assert.Less(t, r.After, 10*r.Timeout, r.What)
	}

	// Every echo came back right, from one server thread.
	ec := res.Echo
	assert.Equal(t, cfg.clients*cfg.trips, ec.Trips)
	assert.Zero(t, ec.Wrong)
	assert.Equal(t, 1, ec.Threads)
	assert.GreaterOrEqual(t, ec.Peak, cfg.clients)
}

// TestServe runs -serve on a free port, echoes a line through it, and
// stops it with SIGTERM: it exits 0, promptly.
func TestServe(t *testing.T) {
	cmd := exec.Command(chaptertest.Build(t), "-serve", "-listen", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})

	lines := bufio.NewScanner(stdout)
	nc := regexp.MustCompile(`nc (\S+) (\d+)`)
	var addr string
	for addr == "" && lines.Scan() {
		if m := nc.FindStringSubmatch(lines.Text()); m != nil {
			addr = net.JoinHostPort(m[1], m[2])
		}
	}
	require.NotEmpty(t, addr, "-serve printed no address")
	go io.Copy(io.Discard, stdout) // keep the pipe drained

	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	_, err = conn.Write([]byte("hello, coroutine\n"))
	require.NoError(t, err)
	got, err := bufio.NewReader(conn).ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "hello, coroutine\n", got)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-done:
		done <- err // for the cleanup
		assert.NoError(t, err, "exit status after SIGTERM")
	case <-time.After(10 * time.Second):
		t.Fatal("-serve did not stop within 10 s of SIGTERM")
	}
	conn.Close()
}
