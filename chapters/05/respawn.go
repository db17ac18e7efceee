package main

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/corofpm/corofpm/tutorial/narrator"
)

// respawnResult is what step 2 measured.
type respawnResult struct {
	Before, After       []int
	Victim, Replacement int
	// Ready is from the kill to the replacement's scoreboard slot saying
	// Idle: it is blocked in accept(2).
	Ready time.Duration
	// Lines are the master's log lines about the two pids.
	Lines []string
	// Requests and Failed are the light load's, across the kill.
	Requests, Failed int
}

// ANCHOR: light-load
// lightLoad is one client sending /hello.php through nginx every 5 ms for
// d. After d/4 it kills victim with SIGKILL, between two of its requests,
// and sends the time on killed. The victim is then idle, so no request
// dies with it: a worker killed in the middle of a request takes that
// request with it (nginx answers 502), in php-fpm as here.
func lightLoad(url string, d time.Duration, victim int, killed chan<- time.Time) (requests, failed int) {
	client := &http.Client{Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	start := time.Now()
	for time.Since(start) < d {
		if killed != nil && time.Since(start) > d/4 {
			killed <- time.Now()
			syscall.Kill(victim, syscall.SIGKILL)
			killed = nil
		}
		if get(client, url) != http.StatusOK {
			failed++
		}
		requests++
		time.Sleep(5 * time.Millisecond)
	}
	return requests, failed
}

// ANCHOR_END: light-load

func respawnStep(n *narrator.Narrator, s *stack, cfg settings) (res respawnResult, err error) {
	if res.Before, err = idleWorkers(s, 4); err != nil {
		return res, err
	}
	master := s.fpm.Master.Pid
	n.Say("master %d, workers %v (pm = static, 4), nginx %d on 127.0.0.1:%d → fastcgi_pass %s",
		master, res.Before, s.ngx.Pid, s.ngx.Port, s.fpm.Addr)
	res.Victim = res.Before[0]
	n.Say("one client sends /hello.php through nginx every 5 ms for %s; kill -9 %d between two of its requests", cfg.light, res.Victim)

	killed := make(chan time.Time, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		res.Requests, res.Failed = lightLoad(s.ngx.URL("/hello.php"), cfg.light, res.Victim, killed)
	}()
	err = timeReplacement(s, <-killed, &res)
	<-done
	if err != nil {
		return res, err
	}
	for _, line := range strings.Split(s.fpm.LogText(), "\n") {
		if strings.Contains(line, " "+strconv.Itoa(res.Victim)+" ") || strings.Contains(line, " "+strconv.Itoa(res.Replacement)+" ") {
			res.Lines = append(res.Lines, line)
			n.From("master", master, "%s", line)
		}
	}
	if res.After, err = idleWorkers(s, 4); err != nil {
		return res, err
	}
	if !slices.Contains(res.After, res.Replacement) {
		return res, fmt.Errorf("worker %d is not a child of the master %d", res.Replacement, master)
	}
	n.Say("kill -9 → replacement %d blocked in accept(2) (its slot on the status page says Idle): %s",
		res.Replacement, res.Ready.Round(100*time.Microsecond))
	n.Say("meanwhile the other workers served the client: %d requests, %d failed; workers now %v", res.Requests, res.Failed, res.After)
	n.Say("SIGCHLD woke the master's loop; it asked every worker wait4(pid, WNOHANG), since one SIGCHLD may stand for several exits, and started one to get back to pm.max_children")
	return res, nil
}

// timeReplacement waits for the worker that replaces res.Victim: a slot
// on the status page, Idle, of a pid that was not there before.
func timeReplacement(s *stack, killedAt time.Time, res *respawnResult) error {
	ready, err := waitFor(5*time.Second, "a replacement worker in accept(2)", func() bool {
		slots, _ := s.slots()
		for _, sl := range slots {
			if sl.State == "Idle" && !slices.Contains(res.Before, sl.PID) {
				res.Replacement = sl.PID
				return true
			}
		}
		return false
	})
	res.Ready = ready.Sub(killedAt)
	return err
}

// idleWorkers waits until the pool has want workers, every one of them
// Idle on the status page, and returns their pids, sorted.
func idleWorkers(s *stack, want int) ([]int, error) {
	var pids []int
	_, err := waitFor(10*time.Second, fmt.Sprintf("%d idle workers", want), func() bool {
		pids, _ = s.fpm.Workers()
		if len(pids) != want {
			return false
		}
		slots, err := s.slots()
		if err != nil {
			return false
		}
		idle := 0
		for _, sl := range slots {
			// The worker serving this status request counts too.
			if slices.Contains(pids, sl.PID) && (sl.State == "Idle" || sl.URI == "/status?json&full") {
				idle++
			}
		}
		return idle == want
	})
	slices.Sort(pids)
	return pids, err
}
