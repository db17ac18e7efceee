package sock

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestPassedPipeEndWritesIntoTheSamePipe(t *testing.T) {
	a, b, err := Pair()
	require.NoError(t, err)
	defer a.Close()
	defer b.Close()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()

	require.NoError(t, a.SendFDs([]byte("P"), int(w.Fd())))
	sent := int(w.Fd())

	buf := make([]byte, 8)
	n, fds, err := b.RecvFDs(buf)
	require.NoError(t, err)
	assert.Equal(t, "P", string(buf[:n]), "the message byte comes with the fds")
	require.Len(t, fds, 1)
	assert.NotEqual(t, sent, fds[0], "a new fd in the receiver's table...")
	w.Close() // the sender's copy goes; the received one keeps the pipe open
	flags, err := unix.FcntlInt(uintptr(fds[0]), unix.F_GETFD, 0)
	require.NoError(t, err)
	assert.NotZero(t, flags&unix.FD_CLOEXEC, "received fds are close-on-exec")

	_, err = unix.Write(fds[0], []byte("through"))
	require.NoError(t, err)
	unix.Close(fds[0])
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, "through", string(got), "...for the same pipe")
}

func TestPassedListenerAccepts(t *testing.T) {
	a, b, err := Pair()
	require.NoError(t, err)
	defer a.Close()
	defer b.Close()
	l, err := Listen("127.0.0.1:0", 4)
	require.NoError(t, err)
	addr := l.Addr
	require.NoError(t, a.SendFDs([]byte("L"), l.FD))
	require.NoError(t, l.Close())

	_, fds, err := b.RecvFDs(make([]byte, 1))
	require.NoError(t, err)
	require.Len(t, fds, 1)
	got, err := FileListener(os.NewFile(uintptr(fds[0]), "passed listener"))
	require.NoError(t, err)
	defer got.Close()
	assert.Equal(t, addr, got.Addr, "the very socket, still bound to its port")

	c, err := Dial(addr)
	require.NoError(t, err)
	defer c.Close()
	s, err := got.Accept()
	require.NoError(t, err)
	s.Close()
}

func TestSeveralFDsAndPlainData(t *testing.T) {
	a, b, err := Pair()
	require.NoError(t, err)
	defer a.Close()
	defer b.Close()
	r1, w1, _ := os.Pipe()
	r2, w2, _ := os.Pipe()
	for _, f := range []*os.File{r1, w1, r2, w2} {
		defer f.Close()
	}

	require.NoError(t, a.SendFDs([]byte("two"), int(w1.Fd()), int(w2.Fd())))
	_, err = a.Write([]byte("after"))
	require.NoError(t, err)

	buf := make([]byte, 16)
	n, fds, err := b.RecvFDs(buf)
	require.NoError(t, err)
	assert.Equal(t, "two", string(buf[:n]), "data sent with fds is not joined to what follows")
	require.Len(t, fds, 2)
	unix.Write(fds[0], []byte("1"))
	unix.Write(fds[1], []byte("2"))
	closeAll(fds)
	one := make([]byte, 1)
	r1.Read(one)
	assert.Equal(t, "1", string(one), "fds arrive in the order sent")
	r2.Read(one)
	assert.Equal(t, "2", string(one))

	n, fds, err = b.RecvFDs(buf)
	require.NoError(t, err)
	assert.Equal(t, "after", string(buf[:n]))
	assert.Empty(t, fds)

	a.Close()
	_, _, err = b.RecvFDs(buf)
	assert.Equal(t, io.EOF, err)

	err = b.SendFDs(nil, int(r1.Fd()))
	assert.ErrorContains(t, err, "at least one byte")
}

// TestPassedListenerAcceptsInAnotherProcess gives a child process one end
// of a socketpair, then sends it a listening socket over it: the child had
// no such socket, yet accepts a connection on it and answers with its pid.
func TestPassedListenerAcceptsInAnotherProcess(t *testing.T) {
	if os.Getenv("SOCK_FDPASS_HELPER") == "1" {
		fdPassChild()
		return
	}
	a, b, err := Pair()
	require.NoError(t, err)
	defer a.Close()
	bf := os.NewFile(uintptr(b.FD), "pair end")
	cmd := exec.Command(os.Args[0], "-test.run=^TestPassedListenerAcceptsInAnotherProcess$")
	cmd.Env = append(os.Environ(), "SOCK_FDPASS_HELPER=1")
	cmd.ExtraFiles = []*os.File{bf} // fd 3 in the child
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	bf.Close()
	defer cmd.Wait()
	defer cmd.Process.Kill() // only if the test fails before the child ends

	l, err := Listen("127.0.0.1:0", 4)
	require.NoError(t, err)
	addr := l.Addr
	require.NoError(t, a.SendFDs([]byte("L"), l.FD))
	l.Close() // from now on only the child holds the socket

	c, err := Dial(addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetReadTimeout(10*time.Second))
	reply, err := io.ReadAll(c)
	require.NoError(t, err)
	assert.Equal(t, strconv.Itoa(cmd.Process.Pid), string(reply), "accepted by the child")
	require.NoError(t, cmd.Wait())
}

// fdPassChild is the child's side: receive a listener on fd 3, accept one
// connection, write the pid to it.
func fdPassChild() {
	pair := &Conn{FD: 3, Peer: "parent"}
	_, fds, err := pair.RecvFDs(make([]byte, 1))
	if err != nil || len(fds) != 1 {
		fmt.Fprintln(os.Stderr, "child: recv:", err, fds)
		os.Exit(1)
	}
	l := &Listener{FD: fds[0], Addr: "passed"}
	c, err := l.Accept()
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	c.Write([]byte(strconv.Itoa(os.Getpid())))
	c.Close()
	os.Exit(0)
}

// TestFileListenerOutlivesItsFile drops the *os.File given to FileListener
// and runs the garbage collector: the file's finalizer must not close the
// fd under the Listener, as it would if FileListener kept only the number.
func TestFileListenerOutlivesItsFile(t *testing.T) {
	l, err := Listen("127.0.0.1:0", 4)
	require.NoError(t, err)
	defer l.Close()
	f, err := l.File()
	require.NoError(t, err)
	inherited, err := FileListener(f)
	require.NoError(t, err)
	f = nil
	for range 3 {
		runtime.GC()
		time.Sleep(10 * time.Millisecond) // finalizers run on their own goroutine
	}
	_, err = unix.FcntlInt(uintptr(inherited.FD), unix.F_GETFD, 0)
	require.NoError(t, err, "the fd was closed behind the Listener's back")
	require.NoError(t, inherited.Close())
}
