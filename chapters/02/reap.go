package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

// reaping is what step 4 measured.
type reaping struct {
	Children int   // started, and released at once
	Signals  int   // SIGCHLDs that reached the program
	Reaped   int   // children wait4 returned
	Passes   []int // children reaped in each pass over the unreaped ones
}

// showReaping starts count children that all block on one pipe, closes it
// so that they exit together, and reaps them the way a master does: at
// each SIGCHLD, try every child with wait4(WNOHANG) until none is left.
func showReaping(n *narrator.Narrator, count int) (r reaping, err error) {
	r.Children = count
	// Room for a signal per child, so that a lost one is lost by the
	// kernel or the runtime, not by a full channel.
	sigs := make(chan os.Signal, count)
	signal.Notify(sigs, syscall.SIGCHLD)
	defer signal.Stop(sigs)

	release, hold, err := os.Pipe()
	if err != nil {
		return r, fmt.Errorf("release pipe: %w", err)
	}
	defer hold.Close()
	rp, err := newReadyPipe()
	if err != nil {
		release.Close()
		return r, err
	}
	defer rp.close()
	var kids []*proc.Process
	defer func() { killAll(kids) }()
	for range count {
		p, err := proc.Start(proc.Spec{Role: "waiter", Files: []*os.File{release, rp.w}})
		if err != nil {
			release.Close()
			return r, err
		}
		kids = append(kids, p)
	}
	release.Close() // only the children hold the read end now
	if err := rp.wait(count, 10*time.Second); err != nil {
		return r, err
	}
	n.Say("%d waiters, each blocked in read(2) on the same pipe; closing its write end releases them all", count)
	hold.Close()
	if err := reap(kids, sigs, &r); err != nil {
		return r, err
	}
	// A child reaped in an early pass may have had its SIGCHLD still on
	// the way: count what arrives shortly after, too.
	for late := time.After(100 * time.Millisecond); ; {
		select {
		case <-sigs:
			r.Signals++
			continue
		case <-late:
		}
		break
	}
	t := n.Table("children exited", "SIGCHLD received", "children reaped", "passes")
	t.Row(r.Children, r.Signals, r.Reaped, len(r.Passes))
	t.Print()
	n.Say("reaped in each pass: %v", r.Passes)
	if r.Signals < r.Reaped {
		n.Say(`%d exits, %d signals: a signal that is already pending is not queued again,
so one SIGCHLD may stand for several children. That is why the handler loops
wait4(WNOHANG) until it finds nothing, as php-fpm's fpm_children_bury does.`, r.Reaped, r.Signals)
	} else {
		n.Say(`this time every exit got its own SIGCHLD; they need not: a signal that is
already pending is not queued again. The reaper must loop wait4(WNOHANG)
until it finds nothing, as php-fpm's fpm_children_bury does.`)
	}
	return r, nil
}

// ANCHOR: reap
// reap waits for SIGCHLD and then tries every child not yet reaped with
// wait4(WNOHANG), until all are reaped. It never counts on one signal per
// child: it counts children.
func reap(kids []*proc.Process, sigs <-chan os.Signal, r *reaping) error {
	left := kids
	timeout := time.After(10 * time.Second)
	for len(left) > 0 {
		select {
		case <-sigs:
			r.Signals++
		case <-timeout:
			return fmt.Errorf("%d of %d children not reaped after 10s", len(left), len(kids))
		}
		var still []*proc.Process
		for _, p := range left {
			_, done, err := p.TryWait()
			if err != nil {
				return err
			}
			if !done {
				still = append(still, p)
			}
		}
		r.Passes = append(r.Passes, len(left)-len(still))
		r.Reaped += len(left) - len(still)
		left = still
	}
	return nil
}

// ANCHOR_END: reap
