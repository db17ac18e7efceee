package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/corofpm/corofpm/net/poll"
	"github.com/corofpm/corofpm/net/sock"
	"golang.org/x/sys/unix"
)

// ANCHOR: self-pipe
// selfPipe turns signals into something a poll(2) loop can wait on beside
// its sockets: the self-pipe trick. In C the signal handler itself does the
// one thing that is safe there, write(2) a byte to a non-blocking pipe, and
// the loop watches the read end. Go runs no code of ours in a signal
// handler: the runtime's handler notes the signal in a bit mask, and a
// runtime goroutine hands it to the channels given to signal.Notify. So the
// "handler" here is a goroutine that receives from the channel and writes
// the byte.
type selfPipe struct {
	// r is what the loop watches; w is written once per signal.
	r, w int
	// sigs is the channel of signal.Notify. os/signal never blocks on it:
	// a full channel loses the signal, so it has room for a burst.
	sigs chan os.Signal
	// forwarded is closed when forward has returned: only then may the
	// pipe be closed, or its fd number could be reused under a write.
	forwarded chan struct{}
}

func newSelfPipe(sig ...os.Signal) (*selfPipe, error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return nil, err
	}
	p := &selfPipe{r: fds[0], w: fds[1], sigs: make(chan os.Signal, 128), forwarded: make(chan struct{})}
	signal.Notify(p.sigs, sig...)
	go p.forward()
	return p, nil
}

// forward writes each signal's number to the pipe. A full pipe drops the
// byte, which is harmless: the bytes already there wake the loop.
func (p *selfPipe) forward() {
	defer close(p.forwarded)
	for s := range p.sigs {
		unix.Write(p.w, []byte{byte(s.(syscall.Signal))})
	}
}

// ANCHOR_END: self-pipe

// close stops the signals and closes the pipe. signal.Stop returns only
// once no more signals will be sent on sigs, so closing it is safe.
func (p *selfPipe) close() {
	signal.Stop(p.sigs)
	close(p.sigs)
	<-p.forwarded
	unix.Close(p.r)
	unix.Close(p.w)
}

// loopEvent is what the loop saw: a signal, or a connection.
type loopEvent struct {
	sig  syscall.Signal // 0 for a connection
	peer string         // the connection's peer
	at   time.Time
}

// eventLoop is a master's loop in miniature: one poller on the signal pipe
// and on a listening socket.
type eventLoop struct {
	p    poll.Poller
	pipe *selfPipe
	ln   *sock.Listener
	out  chan loopEvent
	// err is why run returned, set before out is closed.
	err error
}

// ANCHOR: loop
// run waits in poll(2) for either fd. A signal is now an fd event like a
// connection: the loop handles it between two events, in its own time,
// with no limit on what it may call. The byte 0 (no signal has number 0)
// tells the loop to return.
func (l *eventLoop) run() error {
	events := make([]poll.Event, 2)
	buf := make([]byte, 256)
	for {
		k, err := l.p.Wait(events, -1)
		if err != nil {
			return err
		}
		for _, ev := range events[:k] {
			switch ev.FD {
			case l.pipe.r: // one byte per signal; read them all
				got, _ := unix.Read(l.pipe.r, buf)
				for _, b := range buf[:max(got, 0)] {
					if b == 0 {
						return nil
					}
					l.out <- loopEvent{sig: syscall.Signal(b), at: time.Now()}
				}
			case l.ln.FD:
				c, err := l.ln.AcceptNow()
				if errors.Is(err, sock.ErrWouldBlock) {
					continue // the connection was gone by then
				}
				if err != nil {
					return err
				}
				l.out <- loopEvent{peer: c.Peer, at: time.Now()}
				c.Close()
			}
		}
	}
}

// ANCHOR_END: loop

// startLoop opens a listening socket and the self-pipe for SIGUSR1 and
// starts the loop on them in a goroutine.
func startLoop() (*eventLoop, error) {
	ln, err := sock.Listen("127.0.0.1:0", 16)
	if err != nil {
		return nil, err
	}
	if err := ln.SetNonblock(true); err != nil {
		ln.Close()
		return nil, err
	}
	pipe, err := newSelfPipe(syscall.SIGUSR1)
	if err != nil {
		ln.Close()
		return nil, err
	}
	p, err := poll.New("poll")
	if err != nil {
		pipe.close()
		ln.Close()
		return nil, err
	}
	l := &eventLoop{p: p, pipe: pipe, ln: ln, out: make(chan loopEvent, 256)}
	for _, fd := range []int{pipe.r, ln.FD} {
		if err := p.Add(fd, poll.Readable); err != nil {
			l.close()
			return nil, err
		}
	}
	go func() {
		l.err = l.run()
		close(l.out)
	}()
	return l, nil
}

// close ends the loop (the byte 0), waits for it and releases everything.
func (l *eventLoop) close() {
	unix.Write(l.pipe.w, []byte{0})
	for range l.out {
	}
	l.p.Close()
	l.pipe.close()
	l.ln.Close()
}

// next waits for the loop's next event.
func (l *eventLoop) next() (loopEvent, error) {
	ev, ok := <-l.out
	if !ok {
		return ev, l.ended()
	}
	return ev, nil
}

// ended says why the loop returned before the measurement was done.
func (l *eventLoop) ended() error {
	if l.err != nil {
		return fmt.Errorf("event loop: %w", l.err)
	}
	return errors.New("event loop: ended early")
}

// count takes events off the loop until none came for quiet.
func (l *eventLoop) count(quiet time.Duration) (int, error) {
	n := 0
	for {
		select {
		case _, ok := <-l.out:
			if !ok {
				return n, l.ended()
			}
			n++
		case <-time.After(quiet):
			return n, nil
		}
	}
}

// latencies are sorted durations, for a median and a tail.
type latencies []time.Duration

func (ls latencies) at(p float64) time.Duration {
	if len(ls) == 0 {
		return 0
	}
	return ls[int(p*float64(len(ls)-1))]
}

// timeRounds times rounds of kill(getpid(), sig) to the time handled
// returns, and returns the durations sorted.
func timeRounds(rounds int, sig syscall.Signal, handled func() (time.Time, error)) (latencies, error) {
	ls := make(latencies, 0, rounds)
	pid := os.Getpid()
	for range rounds {
		t0 := time.Now()
		if err := unix.Kill(pid, sig); err != nil {
			return nil, err
		}
		t1, err := handled()
		if err != nil {
			return nil, err
		}
		ls = append(ls, t1.Sub(t0))
	}
	slices.Sort(ls)
	return ls, nil
}
