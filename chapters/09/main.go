// Chapter 09: select, poll, epoll. One process, one thread, many
// connections: an echo server that never blocks on a single socket but asks
// the kernel which of them are ready. The chapter measures what one turn of
// that loop costs as idle connections pile up (select refuses fd 1024, poll
// grows with every fd, epoll does not), then shows the edge-triggered trap.
package main

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/corofpm/corofpm/net/poll"
	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

var info = chapter.Info{
	Number: "09",
	Title:  "select, poll, epoll: one thread, many connections",
	About: `An echo server in one thread, on non-blocking sockets, that waits on all
of them at once with select(2), poll(2) or epoll(7). One client talks while
10 to 10,000 others sit idle; the chapter measures one turn of the event loop
(wait, then read and echo) for each backend: select refuses fd 1024
(FD_SETSIZE), poll pays for every idle fd, epoll does not. Then the
edge-triggered trap: a handler that does not read until EAGAIN loses data.
-serve keeps an epoll echo server up; poke it with nc.`,
	DefaultListen: "127.0.0.1:9009",
}

func main() {
	chapter.Main(info, func(n *narrator.Narrator, opts *chapter.Options) error {
		_, err := run(n, opts)
		return err
	}, serve)
}

// settings are the figures of one run; -quick shrinks them.
type settings struct {
	sizes    []int         // idle connections measured, in order
	trips    int           // round trips of the active client per cell
	budget   time.Duration // time after which a cell stops its round trips (at least minTrips)
	backends []string      // measured side by side
	idle     time.Duration // how long the trap's server waits for an event that will not come
}

func settingsFor(quick bool) settings {
	s := settings{sizes: []int{10, 100, 1000, 10000}, trips: 500, budget: 3 * time.Second,
		backends: []string{"select", "poll", "epoll"}, idle: 200 * time.Millisecond}
	if quick {
		s.trips, s.budget, s.idle = 150, 400*time.Millisecond, 50*time.Millisecond
	}
	return s
}

// result is what one run measured, for the chapter's test.
type result struct {
	Settings settings
	// Sizes are the sizes measured: Settings.sizes, cut to what
	// RLIMIT_NOFILE allows.
	Sizes []int
	// Cells has each backend's cells, in the order of Sizes, up to the
	// first refusal.
	Cells map[string][]cell
	// Trap has a row per trapCase.
	Trap []trapRow
}

// growth is how many times a whole turn cost more at the largest size
// measured than at the smallest, for a backend that took every size.
func (r result) growth(backend string) float64 {
	cs := r.Cells[backend]
	if len(cs) < 2 || cs[len(cs)-1].Err != nil {
		return 0
	}
	return float64(cs[len(cs)-1].Turn) / float64(cs[0].Turn)
}

func run(n *narrator.Narrator, opts *chapter.Options) (res result, err error) {
	cfg := settingsFor(opts.Quick)
	res.Settings = cfg
	runtime.LockOSThread() // one thread, literally: every server below runs on it
	defer runtime.UnlockOSThread()
	n.Title(info.Number, info.Title)

	n.Step("Room for %d connections: RLIMIT_NOFILE", cfg.sizes[len(cfg.sizes)-1])
	room, err := makeRoom(n, cfg.sizes[len(cfg.sizes)-1])
	if err != nil {
		return res, err
	}
	res.Sizes = room.sizes(cfg.sizes)

	n.Step("One turn of the loop, as idle connections pile up")
	n.Say("one echo server per backend, in this thread; one client sends 64 bytes and")
	n.Say("reads the echo, %d times per row, while the others stay connected and silent.", cfg.trips)
	n.Say("(the idle clients' sockets sit at fd %d and up, as if in another process)", room.base)
	res.Cells = map[string][]cell{}
	for _, b := range cfg.backends {
		if res.Cells[b], err = measure(b, res.Sizes, cfg.trips, cfg.budget, room.base); err != nil {
			return res, err
		}
	}
	printCost(n, res)

	n.Step("The edge-triggered trap")
	if err := showTrap(n, cfg, &res); err != nil {
		return res, err
	}
	n.Lesson("select and poll hand the kernel every fd on every call, so one event among 10,000 idle connections costs 10,000 checks, and select cannot even name fd 1024; epoll keeps the set in the kernel and returns only what is ready. Edge-triggered epoll tells you once: read until EAGAIN.")
	return res, nil
}

// printCost prints the medians of each backend at each size, and what a
// refusal said.
func printCost(n *narrator.Narrator, res result) {
	for _, what := range []string{"turn", "wait"} {
		if what == "turn" {
			n.Say("\nmedian time of one turn: Wait, then read and echo the one ready connection")
		} else {
			n.Say("\nof which Wait alone: the system call, and the walk of its result")
		}
		cols := append([]string{"idle conns"}, res.Settings.backends...)
		t := n.Table(cols...)
		for i, size := range res.Sizes {
			row := []any{size}
			for _, b := range res.Settings.backends {
				cs := res.Cells[b]
				switch {
				case i >= len(cs):
					row = append(row, "")
				case cs[i].Err != nil:
					row = append(row, "refused")
				case what == "turn":
					row = append(row, cs[i].Turn)
				default:
					row = append(row, cs[i].Wait)
				}
			}
			t.Row(row...)
		}
		t.Print()
	}
	n.Say("")
	for _, b := range res.Settings.backends {
		cs := res.Cells[b]
		if last := cs[len(cs)-1]; last.Err != nil {
			n.Say("%s stopped at %d idle connections, on the way to %d:", b, last.Held, last.Idle)
			n.Say("  %v", last.Err)
			if errors.Is(last.Err, poll.ErrFDSetSize) {
				n.Say("  the fd number is the limit, not the count: fd_set is a bitmap of %d bits", poll.FDSetSize)
			}
			continue
		}
		n.Say("%s: %.1f× the cost at %d idle connections as at %d", b, res.growth(b), res.Sizes[len(res.Sizes)-1], res.Sizes[0])
	}
	for _, b := range res.Settings.backends[:2] {
		n.Say("%s, Wait's cost per idle fd:%s", b, perFD(res.Cells[b]))
	}
	for _, b := range res.Settings.backends {
		for _, c := range res.Cells[b] {
			if c.Err != nil {
				continue
			}
			n.Detail("%s, %d idle: median of %d round trips, Wait %v, turn %v", b, c.Idle, c.Trips, c.Wait, c.Turn)
			if c.Trips < res.Settings.trips {
				n.Say("%s at %d: the median of %d round trips, all that fit in %s", b, c.Idle, c.Trips, res.Settings.budget)
			}
		}
	}
}

// perFD is the growth of Wait from one size to the next divided by the
// fds added: " 57ns (10→100), 88ns (100→1000)".
func perFD(cs []cell) string {
	s := ""
	for i := 1; i < len(cs) && cs[i].Err == nil; i++ {
		d := (cs[i].Wait - cs[i-1].Wait) / time.Duration(cs[i].Idle-cs[i-1].Idle)
		if s != "" {
			s += ","
		}
		s += fmt.Sprintf(" %v (%d→%d)", d, cs[i-1].Idle, cs[i].Idle)
	}
	return s
}

// showTrap runs the trap's cases and prints what each did.
func showTrap(n *narrator.Narrator, cfg settings, res *result) error {
	n.Say("a client sends %d bytes in one write; the handler reads %d bytes per read(2)", trapBurst, trapChunk)
	n.Say("and the server turns its loop until a Wait of %s reports nothing.", cfg.idle)
	t := n.Table("backend", "handler", "events", "echoed", "stuck in kernel", "after 1 more byte: echoed", "stuck")
	for _, tc := range trapCases {
		row, err := trap(tc, cfg.idle)
		if err != nil {
			return fmt.Errorf("trap on %s: %w", tc.Backend, err)
		}
		res.Trap = append(res.Trap, row)
		handler := fmt.Sprintf("one read of %d", trapChunk)
		if tc.Drain {
			handler = "read until EAGAIN"
		}
		t.Row(tc.Backend, handler, row.Events, row.Echoed, row.Stuck, row.NudgedEchoed, row.NudgedStuck)
	}
	t.Print()
	for _, row := range res.Trap {
		n.Detail("%s: ioctl(fd %d, SIOCINQ) = %d bytes received and not read", row.Backend, row.FD, row.Stuck)
	}
	et := res.Trap[0]
	n.Say("edge-triggered, %d bytes stayed in the socket's receive queue (SIOCINQ) with no", et.Stuck)
	n.Say("event to say so: the server waits for ever while the client waits for its echo.")
	n.Say("The next byte from the client is a new edge: one more read, %d bytes, still behind.", et.NudgedEchoed)
	n.Say("Level-triggered epoll reports the fd again until it is drained; with edge-triggered,")
	n.Say("the handler must read until EAGAIN.")
	return nil
}
