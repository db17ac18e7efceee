package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

// stopResult is one row of step 3: a stop signal sent to the master while
// a request is in a worker.
type stopResult struct {
	Signal syscall.Signal
	// Status is what nginx answered the request in flight (0: nothing).
	Status int
	// Answered and Exited are from the signal to the answer and to the
	// master's exit; Exit is how the master exited.
	Answered, Exited time.Duration
	Exit             proc.Status
	// Worker is how the master logged the end of the busy worker.
	Worker string
}

func stopStep(n *narrator.Narrator, dir string, cfg settings) ([]stopResult, error) {
	n.Say("a fresh FPM and nginx for each signal; /sleep.php?ms=%d is in a worker when the master gets the signal", cfg.inHand.Milliseconds())
	var rows []stopResult
	for _, sig := range []syscall.Signal{syscall.SIGQUIT, syscall.SIGTERM} {
		r, err := stopOne(dir, sig, cfg.inHand)
		if err != nil {
			return rows, err
		}
		rows = append(rows, r)
	}
	t := n.Table("signal", "request in flight", "answered after", "master exited after", "master", "the busy worker")
	for _, r := range rows {
		t.Row(proc.SignalName(r.Signal), fmt.Sprintf("%d %s", r.Status, http.StatusText(r.Status)), r.Answered, r.Exited, r.Exit, r.Worker)
	}
	t.Print()
	n.Say("SIGQUIT: the master sends SIGQUIT to each worker, which finishes the request in hand, then exits; the master waits for the last one")
	n.Say("SIGTERM: the master sends SIGTERM, the default action kills each worker at once, and nginx answers 502 for the request it was serving")
	return rows, nil
}

// stopOne starts an FPM behind nginx, puts a request of d into a worker,
// sends sig to the master and times what happens.
func stopOne(dir string, sig syscall.Signal, d time.Duration) (r stopResult, err error) {
	r.Signal = sig
	s, err := startStack(dir, strings.ToLower(proc.SignalName(sig)))
	if err != nil {
		return r, err
	}
	defer s.stop()
	type answer struct {
		status int
		at     time.Time
	}
	answered := make(chan answer, 1)
	go func() {
		client := &http.Client{Timeout: 10 * time.Second}
		status := get(client, s.ngx.URL(fmt.Sprintf("/sleep.php?ms=%d", d.Milliseconds())))
		answered <- answer{status, time.Now()}
	}()
	var busy int
	if _, err := waitFor(5*time.Second, "the request in a worker", func() bool {
		slots, _ := s.slots()
		i := slices.IndexFunc(slots, func(sl slot) bool { return sl.State == "Running" && strings.HasPrefix(sl.URI, "/sleep.php") })
		if i >= 0 {
			busy = slots[i].PID
		}
		return i >= 0
	}); err != nil {
		<-answered
		return r, err
	}

	t0 := time.Now()
	if err := s.fpm.Signal(sig); err != nil {
		return r, err
	}
	r.Exit, err = s.fpm.Master.Wait()
	r.Exited = time.Since(t0)
	s.reaped = true
	a := <-answered
	r.Status, r.Answered = a.status, a.at.Sub(t0)
	if err != nil {
		return r, err
	}
	r.Worker = workerEnd(s.fpm.LogText(), busy)
	return r, nil
}

// workerEnd finds how the master logged the end of worker pid: "exited
// with code 0" or "exited on signal 15 (SIGTERM)".
func workerEnd(log string, pid int) string {
	prefix := fmt.Sprintf("child %d ", pid)
	for _, line := range strings.Split(log, "\n") {
		if _, rest, ok := strings.Cut(line, prefix); ok && strings.HasPrefix(rest, "exited") {
			end, _, _ := strings.Cut(rest, " after")
			return end
		}
	}
	return "?"
}
