// Chapter 01: FastCGI, one worker, one request at a time.
//
// One process listens on a socket and blocks in accept(2); real nginx sends
// it requests with fastcgi_pass; the chapter shows the records on the wire
// and measures what "one request at a time" costs.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/corofpm/corofpm/net/fastcgi"
	"github.com/corofpm/corofpm/net/sock"
	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/corofpm/corofpm/tutorial/peer"
)

var info = chapter.Info{
	Number: "01",
	Title:  "FastCGI: one worker, one request at a time",
	About: `A worker blocks in accept(2) on a raw socket, reads one FastCGI request,
runs the script and answers, then accepts again. Real nginx sits in front
(fastcgi_pass). The chapter prints one request's records as they crossed the
wire, then sends two slow requests at once and shows, from the worker's own
timestamps, that the second waited for the first.`,
	DefaultListen: "127.0.0.1:9000",
}

func main() {
	chapter.Main(info, func(n *narrator.Narrator, opts *chapter.Options) error {
		_, err := run(n, opts)
		return err
	}, serve)
}

// result is what one run measured, for the chapter's test.
type result struct {
	ViaNginx bool           // the requests went through real nginx
	Body     string         // /hello.php's body as the HTTP client got it
	Records  []record       // /hello.php's records, in and out
	Params   []fastcgi.Pair // its params, in the order sent
	Slow     []served       // the two slow requests, as the worker timed them
}

// setup is what run and serve share: the listener, the worker and nginx.
type setup struct {
	ln     *sock.Listener
	w      *worker
	done   chan error // the worker's run result
	nginx  *peer.Nginx
	tmpDir string
}

func start(n *narrator.Narrator, addr string) (*setup, error) {
	ln, err := sock.Listen(addr, 128)
	if err != nil {
		return nil, err
	}
	pid := os.Getpid()
	s := &setup{ln: ln, done: make(chan error, 1)}
	s.w = newWorker(ln, func(format string, args ...any) { n.From("worker", pid, format, args...) })
	go func() { s.done <- s.w.Run() }()
	n.Say("socket(2), bind(2), listen(2): fd %d on %s, backlog 128", ln.FD, ln.Addr)
	n.Say("the worker (pid %d) now blocks in accept(2) on fd %d", pid, ln.FD)

	if _, err := peer.Look("nginx"); err != nil {
		n.Warn("%v: the chapter sends its requests with the project's FastCGI client instead", err)
		return s, nil
	}
	if s.tmpDir, err = os.MkdirTemp("", "corofpm-01-"); err != nil {
		s.stop()
		return nil, err
	}
	s.nginx, err = peer.StartNginx(peer.NginxConfig{Dir: s.tmpDir, FastCGI: ln.Addr})
	if err != nil {
		s.stop()
		return nil, err
	}
	n.Say("nginx (pid %d) listens on 127.0.0.1:%d with fastcgi_pass %s", s.nginx.Pid, s.nginx.Port, ln.Addr)
	return s, nil
}

// stop stops nginx, wakes the worker out of accept(2) and waits for it.
func (s *setup) stop() error {
	var err error
	if s.nginx != nil {
		err = s.nginx.Stop()
	}
	s.ln.Shutdown()
	if werr := <-s.done; err == nil {
		err = werr
	}
	s.ln.Close()
	if s.tmpDir != "" {
		os.RemoveAll(s.tmpDir)
	}
	return err
}

// get fetches a script through nginx, or straight from the worker with the
// FastCGI client when there is no nginx.
func (s *setup) get(path, query string) (int, string, error) {
	if s.nginx != nil {
		resp, err := http.Get(s.nginx.URL(uri(path, query)))
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), err
	}
	c, err := fastcgi.Dial(s.ln.Addr, 5*time.Second)
	if err != nil {
		return 0, "", err
	}
	defer c.Close()
	reply, err := c.Do(fastcgi.Call{Params: map[string]string{
		"SCRIPT_NAME": path, "REQUEST_METHOD": "GET", "QUERY_STRING": query, "REQUEST_URI": uri(path, query),
	}})
	if err != nil {
		return 0, "", err
	}
	resp, err := fastcgi.ParseCGI(reply.Stdout)
	if err != nil {
		return 0, "", err
	}
	return resp.Status, string(resp.Body), nil
}

func uri(path, query string) string {
	if query == "" {
		return path
	}
	return path + "?" + query
}

// run is the walkthrough.
func run(n *narrator.Narrator, opts *chapter.Options) (res result, err error) {
	n.Title(info.Number, info.Title)
	n.Step("Listen, and block in accept(2)")
	s, err := start(n, "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	defer func() {
		if serr := s.stop(); err == nil {
			err = serr
		}
	}()
	res.ViaNginx = s.nginx != nil

	n.Step("One request, record by record")
	s.w.startTrace()
	status, body, err := s.get("/hello.php", "")
	res.Records = s.w.stopTrace()
	if err != nil {
		return res, err
	}
	res.Body = body
	n.Say("GET /hello.php → HTTP %d, body %q", status, body)
	showRecords(n, res.Records)
	res.Params = paramsOf(res.Records)
	showParams(n, res.Params, opts.Verbose)

	n.Step("Two slow requests at once")
	res.Slow, err = twoSlow(n, s, opts.Quick)
	if err != nil {
		return res, err
	}
	wait := res.Slow[1].Accepted.Sub(res.Slow[0].Accepted)
	n.Lesson("one worker serves one request at a time: the second request waited %s in the socket's backlog until the first was done, so N slow requests take N times as long.",
		wait.Round(time.Millisecond))
	return res, nil
}

// twoSlow sends two /sleep.php requests at the same moment and prints when
// the worker accepted, started and finished each.
func twoSlow(n *narrator.Narrator, s *setup, quick bool) ([]served, error) {
	ms := 1000
	if quick {
		ms = 300
	}
	n.Say("both clients send GET /sleep.php?ms=%d at the same moment", ms)
	t0 := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	got := make([]time.Duration, 2)
	for i := range 2 {
		wg.Go(func() {
			_, _, errs[i] = s.get("/sleep.php", fmt.Sprintf("ms=%d&client=%d", ms, i+1))
			got[i] = time.Since(t0)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	slow := s.w.servedSince(t0)
	if len(slow) != 2 {
		return nil, fmt.Errorf("the worker served %d requests, want 2", len(slow))
	}
	t := n.Table("order", "request", "accepted", "script started", "script finished", "client got answer")
	for i, r := range slow {
		client := 1
		if strings.HasSuffix(r.URI, "client=2") {
			client = 2
		}
		t.Row(i+1, r.URI, r.Accepted.Sub(t0), r.Started.Sub(t0), r.Finished.Sub(t0), got[client-1])
	}
	t.Print()
	n.Say("(times since both were sent; all but the last column measured in the worker)")
	return slow, nil
}
