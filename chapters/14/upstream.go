package main

import (
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// upstream is the slow service behind /upstream.php: Go's net/http in the
// chapter's process, on goroutines of its own, so its delay is a real wait
// on the network for the workers. It counts the calls in flight: how many
// requests the pool really has waiting at once.
type upstream struct {
	url      string
	srv      *http.Server
	inFlight atomic.Int64
}

// startUpstream listens on a free loopback port and answers every GET after
// delay, or as soon as the caller hangs up.
func startUpstream(delay time.Duration) (*upstream, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u := &upstream{url: "http://" + ln.Addr().String() + "/"}
	u.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.inFlight.Add(1)
		defer u.inFlight.Add(-1)
		select {
		case <-time.After(delay):
			io.WriteString(w, "upstream answered\n")
		case <-r.Context().Done(): // a worker stopped while it waited
		}
	})}
	go u.srv.Serve(ln)
	return u, nil
}

// stop closes the listener and every connection.
func (u *upstream) stop() { u.srv.Close() }
