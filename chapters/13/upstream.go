package main

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// upstream is the slow service the coroutines call: Go's net/http server,
// a real HTTP peer on its own goroutines, so that its delays are real
// waits on the network and not the scheduler's business.
type upstream struct {
	addr string
	srv  *http.Server
}

// startUpstream listens on a free loopback port. /slow?ms=N answers after
// N ms with its own id, so that each GET can check it got its answer.
func startUpstream() (*upstream, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-r.Context().Done(): // the client gave up
			return
		}
		fmt.Fprintf(w, "reply %s", r.URL.Query().Get("id"))
	})
	u := &upstream{addr: ln.Addr().String(), srv: &http.Server{Handler: mux}}
	go u.srv.Serve(ln)
	return u, nil
}

// url is the address of a reply after d, tagged id.
func (u *upstream) url(d time.Duration, id int) string {
	return fmt.Sprintf("http://%s/slow?ms=%d&id=%d", u.addr, d.Milliseconds(), id)
}

// stop closes the listener and every connection.
func (u *upstream) stop() { u.srv.Close() }
