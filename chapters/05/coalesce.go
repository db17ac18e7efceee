package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/net/sock"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"golang.org/x/sys/unix"
)

// selfPipeResult is what step 1 measured.
type selfPipeResult struct {
	// Channel is kill(getpid()) → receive from the channel of
	// signal.Notify; Loop is kill(getpid()) → the poll loop has read the
	// pipe's byte.
	Channel, Loop latencies
	// Sent and Delivered are for a burst to this process, as fast as
	// kill(2) goes; StoppedSent and StoppedDelivered for a burst to a
	// stopped child.
	Sent, Delivered               int
	StoppedSent, StoppedDelivered int
}

func selfPipeStep(n *narrator.Narrator, cfg settings) (res selfPipeResult, err error) {
	l, err := startLoop()
	if err != nil {
		return res, err
	}
	defer l.close()
	n.Say("this process (pid %d): signal.Notify(SIGUSR1) → a goroutine writes a byte to pipe fd %d → poll(2) on fd %d and on listening socket fd %d (%s)",
		os.Getpid(), l.pipe.w, l.pipe.r, l.ln.FD, l.ln.Addr)
	if err := showBoth(n, l); err != nil {
		return res, err
	}

	// The same kill(2), received straight from the channel, for comparison.
	direct := make(chan os.Signal, 1)
	signal.Notify(direct, syscall.SIGUSR2)
	res.Channel, err = timeRounds(cfg.rounds, syscall.SIGUSR2, func() (time.Time, error) { <-direct; return time.Now(), nil })
	signal.Stop(direct)
	if err != nil {
		return res, err
	}
	res.Loop, err = timeRounds(cfg.rounds, syscall.SIGUSR1, func() (time.Time, error) {
		ev, err := l.next()
		return ev.at, err
	})
	if err != nil {
		return res, err
	}
	n.Say("%d round trips each, kill(getpid()) to the code that handles the signal:", cfg.rounds)
	t := n.Table("path", "median", "p99")
	t.Row("signal.Notify channel", res.Channel.at(0.5), res.Channel.at(0.99))
	t.Row("channel → pipe → poll loop", res.Loop.at(0.5), res.Loop.at(0.99))
	t.Print()

	res.Sent = cfg.burst
	for range cfg.burst {
		unix.Kill(os.Getpid(), syscall.SIGUSR1)
	}
	if res.Delivered, err = l.count(100 * time.Millisecond); err != nil {
		return res, err
	}
	res.StoppedSent = cfg.burst
	if res.StoppedDelivered, err = burstToStopped(n, cfg.burst); err != nil {
		return res, err
	}
	n.Say("signals are not queued: a burst of SIGUSR1 and how many arrived")
	t = n.Table("receiver", "sent", "delivered")
	t.Row("this process, kill(2) as fast as it goes", res.Sent, res.Delivered)
	t.Row("a stopped child, then SIGCONT", res.StoppedSent, res.StoppedDelivered)
	t.Print()
	n.Say("the kernel keeps one pending bit per standard signal, not a count: the stopped child gets one SIGUSR1 for %d;", res.StoppedSent)
	n.Say("Go's runtime keeps one more bit per signal between its handler and os/signal, so even a running process loses some.")
	n.Say("A master must therefore treat SIGCHLD as \"at least one child exited\" and reap in a loop.")
	return res, nil
}

// showBoth makes the loop wake once for a connection and once for a
// signal, and says what it saw.
func showBoth(n *narrator.Narrator, l *eventLoop) error {
	c, err := sock.Dial(l.ln.Addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := unix.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		return err
	}
	for range 2 {
		ev, err := l.next()
		if err != nil {
			return err
		}
		if ev.sig != 0 {
			n.Say("poll woke: pipe fd %d readable → %s, handled in the loop like any event", l.pipe.r, proc.SignalName(ev.sig))
		} else {
			n.Say("poll woke: socket fd %d readable → accepted a connection from %s", l.ln.FD, ev.peer)
		}
	}
	return nil
}

// counterRole is a child that counts the SIGUSR1s it receives and prints
// the count on SIGUSR2.
const counterRole = "signal-counter"

func counterMain(*proc.Child) error {
	usr1 := make(chan os.Signal, 256)
	usr2 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	signal.Notify(usr2, syscall.SIGUSR2)
	fmt.Println("ready")
	count := 0
	for {
		select {
		case <-usr1:
			count++
		case <-usr2:
			// The runtime hands over pending signals lowest number
			// first, so every SIGUSR1 (10) is in usr1 by now.
			fmt.Println(count + len(usr1))
			return nil
		}
	}
}

// burstToStopped sends sent SIGUSR1s to a child stopped by SIGSTOP, then
// SIGUSR2 (print the count), then SIGCONT, and returns what it counted.
func burstToStopped(n *narrator.Narrator, sent int) (int, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer r.Close()
	c, err := proc.Start(proc.Spec{Role: counterRole, Stdout: w})
	w.Close()
	if err != nil {
		return 0, err
	}
	defer c.Wait()
	defer c.Signal(syscall.SIGKILL) // a no-op once it has exited
	lines := bufio.NewScanner(r)
	if !lines.Scan() || lines.Text() != "ready" {
		return 0, fmt.Errorf("counter %d did not start", c.Pid)
	}
	c.Signal(syscall.SIGSTOP)
	if _, err := waitFor(5*time.Second, "counter stopped", func() bool {
		state, _ := procState(c.Pid)
		return state == 'T'
	}); err != nil {
		return 0, err
	}
	n.Detail("counter %d is stopped (state T); sending %d × SIGUSR1, SIGUSR2, SIGCONT", c.Pid, sent)
	for range sent {
		c.Signal(syscall.SIGUSR1)
	}
	c.Signal(syscall.SIGUSR2)
	c.Signal(syscall.SIGCONT)
	if !lines.Scan() {
		return 0, fmt.Errorf("counter %d printed no count", c.Pid)
	}
	return strconv.Atoi(lines.Text())
}

// procState returns a process's state letter from /proc/PID/stat:
//
//	4242 (chapter05) T 4241 ...
//
// T is stopped (SIGSTOP), S asleep, R running, Z a zombie. The name may
// hold spaces and ')', so the state is found after the last ')'.
func procState(pid int) (byte, error) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	return stat[i+2], nil
}
