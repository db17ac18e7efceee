package main

import (
	"github.com/corofpm/corofpm/tutorial/narrator"
	"golang.org/x/sys/unix"
)

// margin is the fds the process needs besides the connections: stdio, the
// Go runtime's own epoll and wake-up fds, the listening socket, the
// Poller, the active client. Generous, since running under go test adds a
// few.
const margin = 64

// room is where the connections' fds go.
type room struct {
	// base is the first fd of the clients' sockets; below it are the
	// server's, numbered from the lowest free fd up as accept(2) does.
	base int
	// most is the largest number of idle connections that fit.
	most int
}

// sizes cuts the wanted sizes to what fits, ending with the most that
// fits when that is less than asked.
func (r room) sizes(want []int) []int {
	var got []int
	for _, s := range want {
		if s > r.most {
			return append(got, r.most)
		}
		got = append(got, s)
	}
	return got
}

// ANCHOR: rlimit
// makeRoom raises RLIMIT_NOFILE so that idle connections fit in this one
// process: each takes two fds, the client's and the server's. The soft
// limit can be raised up to the hard one by anyone; the hard one only
// with CAP_SYS_RESOURCE (root). If the hard limit is too low, it says so
// and tells how many fit.
func makeRoom(n *narrator.Narrator, idle int) (room, error) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return room{}, err
	}
	need := uint64(2*idle + 2*margin)
	n.Say("%d idle connections need %d fds: one per client, one per server side", idle, need)
	n.Say("RLIMIT_NOFILE is soft %d, hard %d (Go raises the soft limit to the hard one at start)", rl.Cur, rl.Max)
	if rl.Cur < need {
		raised := unix.Rlimit{Cur: need, Max: max(rl.Max, need)}
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &raised); err == nil {
			n.Say("setrlimit(RLIMIT_NOFILE, soft %d, hard %d): done", raised.Cur, raised.Max)
			rl = raised
		} else {
			n.Warn("setrlimit(RLIMIT_NOFILE, %d): %v; the hard limit stays %d", need, err, rl.Max)
		}
	}
	limit := int(min(rl.Cur, need))
	r := room{base: limit/2 + margin/2, most: idle}
	if r.most > (limit-2*margin)/2 {
		r.most = (limit - 2*margin) / 2
		n.Warn("room for %d idle connections only: the table stops there (raise the hard limit: ulimit -Hn, or run as root)", r.most)
	}
	return r, nil
}

// ANCHOR_END: rlimit
