package sock

import (
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// maxFDs is how many fds one message may carry: the kernel's SCM_MAX_FD.
// RecvFDs makes room for that many, so it never loses fds to a control
// buffer too small (MSG_CTRUNC), which would close them unseen.
const maxFDs = 253

// Pair returns the two ends of a connected pair of unix stream sockets
// (socketpair(2)): what a process keeps one end of and gives the other to
// a child, to send it fds later. Both ends are blocking.
func Pair() (a, b *Conn, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("sock: socketpair: %w", err)
	}
	return &Conn{FD: fds[0], Peer: "socketpair"}, &Conn{FD: fds[1], Peer: "socketpair"}, nil
}

// ANCHOR: sendfds
// SendFDs sends msg with copies of fds attached, over a unix socket:
// sendmsg(2) with an SCM_RIGHTS control message. The receiver gets new fds
// (other numbers, in its own fd table) for the same open files: a passed
// listening socket is the very socket, backlog and all, not a copy of it.
// msg must hold at least one byte, since the fds ride on the data; the
// sender may close its own fds once SendFDs returns, as the message in the
// kernel holds them until it is received.
//
// On the wire, a control message carrying fds 7 and 9 is, on amd64:
//
//	cmsg_len=24 (8 bytes)  cmsg_level=SOL_SOCKET  cmsg_type=SCM_RIGHTS  7  9
func (c *Conn) SendFDs(msg []byte, fds ...int) error {
	if len(msg) == 0 {
		return fmt.Errorf("sock: sendmsg to %s: SCM_RIGHTS needs at least one byte of data", c.Peer)
	}
	oob := unix.UnixRights(fds...)
	for {
		n, err := unix.SendmsgN(c.FD, msg, oob, nil, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("sock: sendmsg %d fds to %s: %w", len(fds), c.Peer, err)
		}
		if n < len(msg) { // the fds went with the first byte; the rest is plain data
			_, err = c.Write(msg[n:])
		}
		return err
	}
}

// ANCHOR_END: sendfds

// RecvFDs reads a message into p with recvmsg(2) and returns its length
// and the fds that came with it, already close-on-exec (MSG_CMSG_CLOEXEC)
// so that they leak into no child by accident. The caller owns the fds. A
// read never joins data sent with fds to data sent after them, so a
// one-byte message with fds is read alone. io.EOF means the peer closed.
func (c *Conn) RecvFDs(p []byte) (n int, fds []int, err error) {
	oob := make([]byte, unix.CmsgSpace(maxFDs*4))
	for {
		var oobn, flags int
		n, oobn, flags, _, err = unix.Recvmsg(c.FD, p, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, nil, fmt.Errorf("sock: recvmsg from %s: %w", c.Peer, err)
		}
		fds, err = parseRights(oob[:oobn])
		if err == nil && flags&unix.MSG_CTRUNC != 0 {
			err = fmt.Errorf("control data truncated (MSG_CTRUNC), fds lost")
		}
		if err != nil {
			closeAll(fds)
			return 0, nil, fmt.Errorf("sock: recvmsg from %s: %w", c.Peer, err)
		}
		if n == 0 && len(fds) == 0 && len(p) > 0 {
			return 0, nil, io.EOF
		}
		return n, fds, nil
	}
}

// parseRights collects the fds of every SCM_RIGHTS control message.
func parseRights(oob []byte) ([]int, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, m := range msgs {
		if m.Header.Level != unix.SOL_SOCKET || m.Header.Type != unix.SCM_RIGHTS {
			continue
		}
		got, err := unix.ParseUnixRights(&m)
		if err != nil {
			closeAll(fds)
			return nil, err
		}
		fds = append(fds, got...)
	}
	return fds, nil
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}
