package fpm

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/corofpm/corofpm/net/sock"
	"golang.org/x/sys/unix"
)

// EnvSockets carries the listening sockets across a reload (SIGUSR2): the
// master exec(2)s itself with "addr=fd,addr=fd" in this variable and those
// fds left open, and the new master takes them instead of binding again.
// php-fpm does the same with FPM_SOCKETS. The socket never closes, so the
// kernel keeps queueing connections in its backlog while no worker runs.
const EnvSockets = "COROFPM_SOCKETS"

// acceptTimeout is the listening socket's SO_RCVTIMEO. A blocking accept(2)
// returns EAGAIN when it expires, which lets an idle worker look at its
// stop flag once in a while. php-fpm's worker, on SIGQUIT, replaces its
// fd 0 (the listening socket) by a fresh unbound socket, so that the
// accept(2) its handler interrupts and SA_RESTART restarts fails at once;
// in Go the handler may run on any thread, not the one blocked in accept,
// so nothing interrupts that accept. Accepted connections inherit the
// option: the worker clears it on each.
const acceptTimeout = 500 * time.Millisecond

// deferAccept is TCP_DEFER_ACCEPT's time, in seconds: how long the kernel
// holds a connection that has sent nothing before queueing it anyway.
const deferAccept = 1

// listeners opens every pool's socket, or takes it over from the previous
// master when this process was started by a reload.
type listeners struct {
	inherited map[string]int // addr → fd, from EnvSockets
	open      map[string]*sock.Listener
}

func newListeners() (*listeners, error) {
	ls := &listeners{inherited: map[string]int{}, open: map[string]*sock.Listener{}}
	env := os.Getenv(EnvSockets)
	os.Unsetenv(EnvSockets) // for this process only; children must not see it
	if env == "" {
		return ls, nil
	}
	for item := range strings.SplitSeq(env, ",") {
		addr, fdText, ok := strings.Cut(item, "=")
		fd, err := strconv.Atoi(fdText)
		if !ok || err != nil || fd < 3 {
			return nil, fmt.Errorf("bad %s entry %q (want addr=fd)", EnvSockets, item)
		}
		unix.CloseOnExec(fd) // ours now; the next exec passes it on explicitly
		ls.inherited[addr] = fd
	}
	return ls, nil
}

// listen returns the socket for addr: the inherited one if the previous
// master passed it, else a new one. reused tells which, for the log.
func (ls *listeners) listen(addr string, backlog int) (l *sock.Listener, reused bool, err error) {
	if fd, ok := ls.inherited[addr]; ok {
		delete(ls.inherited, addr)
		l, err = sock.FileListener(os.NewFile(uintptr(fd), addr))
		if err == nil {
			l.Own() // the socket file is ours to remove now
		}
		reused = true
	} else {
		l, err = sock.Listen(addr, backlog)
	}
	if err != nil {
		return nil, false, err
	}
	tv := unix.NsecToTimeval(acceptTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(l.FD, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		l.Close()
		return nil, false, fmt.Errorf("SO_RCVTIMEO on %s: %w", addr, err)
	}
	if !sock.IsUnix(addr) {
		// The web server speaks first: with TCP_DEFER_ACCEPT the kernel
		// leaves a connection out of the accept queue until its first
		// bytes arrive, so a worker woken for it finds the request there
		// instead of waiting again, in read(2) or in epoll, for nginx to
		// send it (nginx's own listen ... deferred).
		if err := unix.SetsockoptInt(l.FD, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, deferAccept); err != nil {
			l.Close()
			return nil, false, fmt.Errorf("TCP_DEFER_ACCEPT on %s: %w", addr, err)
		}
	}
	ls.open[addr] = l
	return l, reused, nil
}

// closeUnused closes inherited sockets no pool asked for: a pool removed
// from the configuration before the reload.
func (ls *listeners) closeUnused() {
	for _, fd := range ls.inherited {
		unix.Close(fd)
	}
	clear(ls.inherited)
}

// handover prepares the exec of a reload: every open socket loses
// FD_CLOEXEC and is named in the returned environment entry.
func (ls *listeners) handover() (string, error) {
	var items []string
	for addr, l := range ls.open {
		if _, err := unix.FcntlInt(uintptr(l.FD), unix.F_SETFD, 0); err != nil {
			return "", fmt.Errorf("keeping %s open across exec: %w", addr, err)
		}
		items = append(items, fmt.Sprintf("%s=%d", addr, l.FD))
	}
	return EnvSockets + "=" + strings.Join(items, ","), nil
}

// closeAll closes every socket (the FPM is stopping), removing unix socket
// files this process bound.
func (ls *listeners) closeAll() {
	for addr, l := range ls.open {
		l.Close()
		delete(ls.open, addr)
	}
}
