package reactor

import (
	"errors"
	"time"

	"github.com/corofpm/corofpm/net/poll"
	"github.com/corofpm/corofpm/net/sock"
)

// acceptBatch is the most connections one turn accepts from a listener,
// so that a flood of new connections cannot starve the established ones.
const acceptBatch = 64

// acceptPause is how long a listener rests after accept(2) failed for a
// reason other than an empty queue. EMFILE, out of fds, is the usual one:
// the pending connection stays in the queue, level-triggered epoll
// reports the listener again at once, and without a rest the loop would
// spin on it.
const acceptPause = 100 * time.Millisecond

// Listener accepts connections on the loop and hands each to its accept
// function as a Conn.
type Listener struct {
	loop   *Loop
	ln     *sock.Listener
	accept func(*Conn)
	// closed is set by Close, so that a rest's timer does not watch a
	// closed fd again.
	closed bool
}

// Listen listens on addr (host:port, or a unix socket path) and calls
// accept on the loop's thread with every new connection, for it to set
// the Conn's callbacks.
func (l *Loop) Listen(addr string, accept func(c *Conn)) (*Listener, error) {
	ln, err := sock.Listen(addr, 4096)
	if err == nil {
		err = ln.SetNonblock(true)
	}
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		return nil, err
	}
	lis := &Listener{loop: l, ln: ln, accept: accept}
	if err := l.add(ln.FD, poll.Readable, lis.ready, lis); err != nil {
		ln.Close()
		return nil, err
	}
	return lis, nil
}

// Addr is the address listened on, with the port the kernel chose for :0.
func (lis *Listener) Addr() string { return lis.ln.Addr }

// ANCHOR: accept
// ready accepts what is waiting, up to acceptBatch connections.
func (lis *Listener) ready(poll.Events) {
	for range acceptBatch {
		sc, err := lis.ln.AcceptNow()
		if errors.Is(err, sock.ErrWouldBlock) {
			return
		}
		if err != nil {
			lis.rest()
			return
		}
		c, err := lis.loop.NewConn(sc.FD, sc.Peer)
		if err != nil {
			sc.Close()
			continue
		}
		lis.accept(c)
	}
}

// ANCHOR_END: accept

// rest stops watching the listener for acceptPause.
func (lis *Listener) rest() {
	if lis.loop.ModFD(lis.ln.FD, 0) != nil {
		return
	}
	lis.loop.After(acceptPause, func() {
		if !lis.closed {
			lis.loop.ModFD(lis.ln.FD, poll.Readable)
		}
	})
}

// Close stops listening; established connections stay.
func (lis *Listener) Close() error {
	lis.shut(nil)
	return nil
}

func (lis *Listener) shut(error) {
	if lis.closed {
		return
	}
	lis.closed = true
	lis.loop.DelFD(lis.ln.FD)
	lis.ln.Close()
}
