package proc_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/net/sock"
	"github.com/corofpm/corofpm/tutorial/peer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The roles the test binary can play when re-executed.
var roles = map[string]func(*proc.Child) error{
	"exit": func(c *proc.Child) error {
		code, _ := strconv.Atoi(c.Args[0])
		os.Exit(code)
		return nil
	},
	"fail": func(c *proc.Child) error { return fmt.Errorf("told to fail") },
	"sleep": func(c *proc.Child) error {
		fmt.Println("sleeping")
		select {}
	},
	"echo-file": func(c *proc.Child) error {
		_, err := io.Copy(os.Stdout, c.Files[0])
		return err
	},
	"serve-one": func(c *proc.Child) error {
		ln := &sock.Listener{FD: int(c.Files[0].Fd()), Addr: "inherited"}
		conn, err := ln.Accept()
		if err != nil {
			return err
		}
		defer conn.Close()
		_, err = fmt.Fprintf(conn, "hello from %d", os.Getpid())
		return err
	},
	"list-fds": func(c *proc.Child) error {
		ents, err := os.ReadDir("/proc/self/fd")
		for _, e := range ents {
			target, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
			fmt.Println(e.Name(), target)
		}
		return err
	},
	"parent-of-sleeper": func(c *proc.Child) error {
		p, err := proc.Start(proc.Spec{Role: "sleep"})
		if err != nil {
			return err
		}
		fmt.Println(p.Pid)
		select {}
	},
}

func TestMain(m *testing.M) {
	proc.Main(roles)
	os.Exit(m.Run())
}

// noChildrenLeft fails the test if it left a child process running.
func noChildrenLeft(t *testing.T) {
	t.Cleanup(func() {
		kids, err := peer.Children()
		require.NoError(t, err)
		assert.Empty(t, kids, "children left running")
	})
}

func TestExitCodeOrSignal(t *testing.T) {
	noChildrenLeft(t)
	p, err := proc.Start(proc.Spec{Role: "exit", Args: []string{"7"}})
	require.NoError(t, err)
	st, err := p.Wait()
	require.NoError(t, err)
	assert.Equal(t, "exited with code 7", st.String())
	assert.True(t, st.Exited)
	assert.ErrorIs(t, p.Signal(syscall.SIGKILL), os.ErrProcessDone, "a reaped child's pid may be another's now")

	var stderr bytes.Buffer
	p, err = proc.Start(proc.Spec{Role: "fail", Stderr: &stderr})
	require.NoError(t, err)
	st, err = p.Wait()
	require.NoError(t, err)
	assert.Equal(t, 1, st.Code)
	assert.Equal(t, fmt.Sprintf("fail %d: told to fail\n", p.Pid), stderr.String())

	var out bytes.Buffer
	p, err = proc.Start(proc.Spec{Role: "sleep", Stdout: &out})
	require.NoError(t, err)
	_, ok, err := p.TryWait()
	require.NoError(t, err)
	assert.False(t, ok, "a sleeping child is not reaped by TryWait")
	require.NoError(t, p.Signal(syscall.SIGKILL))
	st, err = p.Wait()
	require.NoError(t, err)
	assert.False(t, st.Exited)
	assert.Equal(t, syscall.SIGKILL, st.Signal)
	assert.Equal(t, "exited on signal 9 (SIGKILL)", st.String())
}

func TestUnknownRole(t *testing.T) {
	noChildrenLeft(t)
	var stderr bytes.Buffer
	p, err := proc.Start(proc.Spec{Role: "no-such-role", Stderr: &stderr})
	require.NoError(t, err)
	st, err := p.Wait()
	require.NoError(t, err)
	assert.Equal(t, 2, st.Code)
	assert.Contains(t, stderr.String(), `no role "no-such-role"`)
}

func TestPipePassedAsFd3(t *testing.T) {
	noChildrenLeft(t)
	r, w, err := os.Pipe()
	require.NoError(t, err)
	var out bytes.Buffer
	p, err := proc.Start(proc.Spec{Role: "echo-file", Files: []*os.File{r}, Stdout: &out})
	require.NoError(t, err)
	r.Close() // the child has its own copy
	fmt.Fprint(w, "through the pipe")
	w.Close()
	st, err := p.Wait()
	require.NoError(t, err)
	assert.Equal(t, 0, st.Code)
	assert.Equal(t, "through the pipe", out.String())
}

func TestListeningSocketInherited(t *testing.T) {
	noChildrenLeft(t)
	ln, err := sock.Listen("127.0.0.1:0", 8)
	require.NoError(t, err)
	defer ln.Close()
	f, err := ln.File()
	require.NoError(t, err)
	p, err := proc.Start(proc.Spec{Role: "serve-one", Files: []*os.File{f}})
	require.NoError(t, err)
	f.Close()
	c, err := net.Dial("tcp", ln.Addr)
	require.NoError(t, err)
	defer c.Close()
	got, err := io.ReadAll(c)
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("hello from %d", p.Pid), string(got))
	st, err := p.Wait()
	require.NoError(t, err)
	assert.Equal(t, 0, st.Code)
}

func TestNoFdLeaksIntoTheChild(t *testing.T) {
	noChildrenLeft(t)
	secret, err := os.Create(filepath.Join(t.TempDir(), "secret"))
	require.NoError(t, err)
	defer secret.Close()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer w.Close()
	before := openFds(t)
	var out bytes.Buffer
	p, err := proc.Start(proc.Spec{Role: "list-fds", Files: []*os.File{r}, Stdout: &out})
	require.NoError(t, err)
	_, err = p.Wait()
	require.NoError(t, err)
	r.Close()
	assert.NotContains(t, out.String(), "secret", "a file the parent opened leaked into the child")
	fds := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		fd, target, _ := strings.Cut(line, " ")
		fds[fd] = target
	}
	assert.Equal(t, "/dev/null", fds["0"])
	assert.True(t, strings.HasPrefix(fds["3"], "pipe:"), "fd 3 is the pipe: %q", fds["3"])
	assert.True(t, strings.HasPrefix(fds["4"], "pipe:"), "fd 4 is the lifeline: %q", fds["4"])
	assert.Equal(t, before-1, openFds(t), "the parent kept nothing for the child (r, closed above, is the one fd gone)")
}

func openFds(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(ents)
}

// TestChildExitsWhenItsParentDies kills a child's parent and checks that
// the child noticed through its lifeline and exited with code 3. This test
// process becomes a subreaper, so the orphan is re-parented to it and can
// be reaped here.
func TestChildExitsWhenItsParentDies(t *testing.T) {
	require.NoError(t, unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	noChildrenLeft(t)
	out, w := io.Pipe()
	p, err := proc.Start(proc.Spec{Role: "parent-of-sleeper", Stdout: w})
	require.NoError(t, err)
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	go io.Copy(io.Discard, out)
	grandchild, err := strconv.Atoi(strings.TrimSpace(line))
	require.NoError(t, err)

	require.NoError(t, p.Signal(syscall.SIGKILL))
	_, err = p.Wait()
	require.NoError(t, err)
	w.Close()

	done := make(chan syscall.WaitStatus, 1)
	go func() {
		var ws syscall.WaitStatus
		syscall.Wait4(grandchild, &ws, 0, nil)
		done <- ws
	}()
	select {
	case ws := <-done:
		assert.Equal(t, 3, ws.ExitStatus(), "the orphan exits with code 3")
	case <-time.After(5 * time.Second):
		syscall.Kill(grandchild, syscall.SIGKILL)
		t.Fatal("the orphan did not exit within 5 s of its parent's death")
	}
}

func TestSignalName(t *testing.T) {
	assert.Equal(t, "SIGTERM", proc.SignalName(syscall.SIGTERM))
	assert.Equal(t, "signal 31", proc.SignalName(syscall.Signal(31)))
}

func TestOutputKnowsThePid(t *testing.T) {
	noChildrenLeft(t)
	var out bytes.Buffer
	var tagged int
	p, err := proc.Start(proc.Spec{Role: "fail", Output: func(pid int) io.Writer {
		tagged = pid
		return &out
	}})
	require.NoError(t, err)
	_, err = p.Wait()
	require.NoError(t, err)
	assert.Equal(t, p.Pid, tagged)
	assert.Equal(t, fmt.Sprintf("fail %d: told to fail\n", p.Pid), out.String(), "stderr went to Output")
}
