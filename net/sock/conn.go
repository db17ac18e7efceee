package sock

import (
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// Conn is a connected socket on a blocking fd: Read and Write are the
// read(2) and write(2) system calls and block the calling thread.
type Conn struct {
	// FD is the connection's file descriptor.
	FD int
	// Peer names the other end ("127.0.0.1:51012") for logs and errors.
	Peer string
}

// Read reads at least one byte, blocking until some arrive; it returns
// io.EOF when the peer has closed its side.
func (c *Conn) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(c.FD, p)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, fmt.Errorf("sock: read from %s: %w", c.Peer, err)
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// ReadNow reads what has already arrived without blocking (recv(2) with
// MSG_DONTWAIT): 0, nil when nothing has; 0, io.EOF when the peer closed.
// It lets a busy worker notice an aborted request (fastcgi.NowReader).
func (c *Conn) ReadNow(p []byte) (int, error) {
	for {
		n, _, err := unix.Recvfrom(c.FD, p, unix.MSG_DONTWAIT)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return 0, nil
		case err != nil:
			return 0, fmt.Errorf("sock: read from %s: %w", c.Peer, err)
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// Write writes all of p, looping over short writes.
func (c *Conn) Write(p []byte) (int, error) { return c.send(p, 0) }

// WriteLast is Write for the last bytes before Close: send(2) with
// MSG_MORE holds back their last partial segment, and the FIN that Close
// sends leaves in it instead of a segment of its own (fastcgi.LastWriter).
// Close right after, or they wait up to 200 ms for the kernel's timer.
func (c *Conn) WriteLast(p []byte) (int, error) { return c.send(p, unix.MSG_MORE) }

func (c *Conn) send(p []byte, flags int) (int, error) {
	done := 0
	for done < len(p) {
		n, err := SendSome(c.FD, p[done:], flags)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return done, fmt.Errorf("sock: write to %s: %w", c.Peer, err)
		}
		done += n
	}
	return done, nil
}

// SendSome is one write(2) of p to fd, or send(2) with flags if there are
// any (send(2) is for sockets only): it returns how much the kernel took.
func SendSome(fd int, p []byte, flags int) (int, error) {
	if flags == 0 {
		return unix.Write(fd, p)
	}
	return unix.SendmsgN(fd, p, nil, nil, flags)
}

// Close closes the fd.
func (c *Conn) Close() error { return unix.Close(c.FD) }
