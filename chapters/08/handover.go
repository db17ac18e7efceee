package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/net/sock"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

// handover is step 6's measurement: a listening socket sent to another
// process, and a connection that process accepted on it.
type handover struct {
	ChildPid int
	// SentFD and ReceivedFD are the socket's fd numbers in this process
	// and in the child; SentSocket and ReceivedSocket are what
	// /proc/<pid>/fd says they point to, the same socket:[inode].
	SentFD, ReceivedFD         int
	SentSocket, ReceivedSocket string
	Addr                       string
	// ClientLocal is the client's address; AcceptedPeer is the address of
	// the connection the child says it accepted.
	ClientLocal, AcceptedPeer string
	Sent, Echo                string
	Status                    proc.Status
}

// handOver listens, starts a child with one end of a socketpair and
// nothing else, sends it the listening socket, closes its own copy, and
// connects: only the child can accept.
func handOver(n *narrator.Narrator) (h handover, err error) {
	ln, err := sock.Listen("127.0.0.1:0", 16)
	if err != nil {
		return h, err
	}
	defer func() {
		if ln != nil {
			ln.Close()
		}
	}()
	h.Addr, h.SentFD, h.SentSocket = ln.Addr, ln.FD, socketID(os.Getpid(), ln.FD)
	ours, theirs, err := sock.Pair()
	if err != nil {
		return h, err
	}
	defer ours.Close()
	child, err := startSuccessor(n, theirs)
	if err != nil {
		return h, err
	}
	h.ChildPid = child.Pid
	defer func() { // on an error path, the child may still wait in accept(2)
		if _, done, _ := child.TryWait(); !done {
			child.Signal(syscall.SIGKILL)
			child.Wait()
		}
	}()
	n.Say("this process (pid %d) listens on %s: fd %d, %s", os.Getpid(), h.Addr, h.SentFD, h.SentSocket)
	n.Say("it starts pid %d with one end of a socketpair(2) as fd 3, and no other socket", child.Pid)

	if err := ours.SendFDs([]byte("L"), ln.FD); err != nil {
		return h, err
	}
	n.Say("sendmsg(2) on the socketpair: one byte %q, and fd %d in an SCM_RIGHTS control message", "L", ln.FD)
	ln.Close()
	ln = nil
	n.Say("close(2) of fd %d here: from now on the socket is open in pid %d only", h.SentFD, child.Pid)

	if err := ours.SetReadTimeout(10 * time.Second); err != nil {
		return h, err
	}
	report := bufio.NewReader(ours)
	if err := readReport(report, "received fd=%d socket=%s\n", &h.ReceivedFD, &h.ReceivedSocket); err != nil {
		return h, err
	}
	n.From("successor", child.Pid, "recvmsg(2): fd %d, %s, listening on %s: the same socket", h.ReceivedFD, h.ReceivedSocket, h.Addr)

	if err := connectToSuccessor(&h); err != nil {
		return h, err
	}
	if err := readReport(report, "accepted peer=%s\n", &h.AcceptedPeer); err != nil {
		return h, err
	}
	n.From("successor", child.Pid, "accept(2) on fd %d returned %s; echoed %q", h.ReceivedFD, h.AcceptedPeer, h.Echo)
	n.Say("a client at %s connected to %s and got its echo back from pid %d", h.ClientLocal, h.Addr, child.Pid)
	if h.Status, err = child.Wait(); err != nil {
		return h, err
	}
	n.Say("pid %d %s once the client left", child.Pid, h.Status)
	n.Say("this is how a server hands over without closing its port: a new process takes the")
	n.Say("very socket, with the connections already in its backlog, and the old one leaves")
	return h, nil
}

// readReport reads one line the successor wrote on the socketpair and
// scans it with format.
func readReport(r *bufio.Reader, format string, args ...any) error {
	line, err := r.ReadString('\n')
	if err == nil {
		_, err = fmt.Sscanf(line, format, args...)
	}
	if err != nil {
		return fmt.Errorf("successor's report %q: %w", line, err)
	}
	return nil
}

// startSuccessor starts the child with theirs as its fd 3 and closes this
// process's copy: the child's is the only one.
func startSuccessor(n *narrator.Narrator, theirs *sock.Conn) (*proc.Process, error) {
	f := os.NewFile(uintptr(theirs.FD), "socketpair end")
	defer f.Close()
	return proc.Start(proc.Spec{
		Role:   "successor",
		Files:  []*os.File{f},
		Output: func(pid int) io.Writer { return n.Tagged("successor", pid) },
	})
}

// connectToSuccessor is the client: it connects to the address this
// process no longer has a socket for, and sends a line to echo.
func connectToSuccessor(h *handover) error {
	c, err := sock.Dial(h.Addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetReadTimeout(10 * time.Second); err != nil {
		return err
	}
	if h.ClientLocal, err = c.LocalAddr(); err != nil {
		return err
	}
	h.Sent = "hello, successor"
	if _, err := echo(c, []byte(h.Sent)); err != nil {
		return err
	}
	h.Echo = h.Sent
	return nil
}

// ANCHOR: successor
// successorMain is the child. Its fd 3 is a unix socket to its parent;
// it receives a listening socket there (recvmsg(2), SCM_RIGHTS), says so,
// accepts one connection on it and echoes it until the client leaves.
func successorMain(c *proc.Child) error {
	if len(c.Files) != 1 {
		return fmt.Errorf("want one inherited file, the socketpair, got %d", len(c.Files))
	}
	pair := c.Files[0]
	defer pair.Close() // also keeps pair from the collector while we use its fd
	parent := &sock.Conn{FD: int(pair.Fd()), Peer: "parent"}
	_, fds, err := parent.RecvFDs(make([]byte, 1))
	if err != nil {
		return err
	}
	if len(fds) != 1 {
		return fmt.Errorf("received %d fds, want 1", len(fds))
	}
	ln, err := sock.FileListener(os.NewFile(uintptr(fds[0]), "received listener"))
	if err != nil {
		return err
	}
	defer ln.Close()
	fmt.Fprintf(parent, "received fd=%d socket=%s\n", fds[0], socketID(os.Getpid(), fds[0]))
	conn, err := ln.Accept()
	if err != nil {
		return err
	}
	defer conn.Close()
	fmt.Fprintf(parent, "accepted peer=%s\n", conn.Peer)
	_, err = io.Copy(conn, conn) // echo: read(2) and write(2) until EOF
	return err
}

// ANCHOR_END: successor

// socketID names the open file behind a process's fd as the kernel does in
// /proc/<pid>/fd: "socket:[123456]", the socket's inode. Two fds in two
// processes with the same name are one socket.
func socketID(pid, fd int) string {
	id, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/fd/" + strconv.Itoa(fd))
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return id
}
