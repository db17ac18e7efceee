package main

import (
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/net/sock"
	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/corofpm/corofpm/tutorial/peer"
)

// serve keeps one re-executed FastCGI worker on the listening socket (and
// nginx in front of it) until SIGINT or SIGTERM. The reader may kill the
// worker with any signal: the chapter prints how it ended, as wait4 says,
// and starts another on the same socket, which kept the connections that
// arrived meanwhile in its backlog.
func serve(n *narrator.Narrator, opts *chapter.Options) error {
	n.Title(info.Number, info.Title+" (serving)")
	ln, err := sock.Listen(opts.Listen, 128)
	if err != nil {
		return err
	}
	defer ln.Close()
	socket, err := ln.File()
	if err != nil {
		return err
	}
	defer socket.Close()
	start := func() (*proc.Process, error) {
		return proc.Start(proc.Spec{Role: "worker", Files: []*os.File{socket}, Output: shown(n, "worker")})
	}
	w, err := start()
	if err != nil {
		return err
	}
	defer func() { killAll([]*proc.Process{w}) }() // on the way out of an error
	// Caught from here on: a ^C before "stop with ^C" stops, never kills.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(stop)
	n.Say("master %d listens on %s (fd %d); worker %d inherited it as fd 3", os.Getpid(), ln.Addr, ln.FD, w.Pid)
	n.Say("try:")
	if _, err := peer.Look("nginx"); err == nil {
		dir, err := os.MkdirTemp("", "corofpm-02-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		ngx, err := peer.StartNginx(peer.NginxConfig{Dir: dir, FastCGI: ln.Addr})
		if err != nil {
			return err
		}
		defer ngx.Stop()
		n.Say("  curl %s", ngx.URL("/hello.php"))
	}
	n.Say("  SCRIPT_NAME=/hello.php REQUEST_METHOD=GET cgi-fcgi -bind -connect %s", ln.Addr)
	n.Say("  ls -l /proc/%d/fd", w.Pid)
	n.Say("  kill -KILL %d    (or -TERM, -QUIT...): the master says how it ended and starts another", w.Pid)
	n.Say("stop with ^C")
	for {
		exited := make(chan proc.Status, 1)
		go func(w *proc.Process) { st, _ := w.Wait(); exited <- st }(w)
		select {
		case st := <-exited:
			n.Say("worker %d %v after %s of CPU; starting another", w.Pid, st, st.User+st.System)
			time.Sleep(100 * time.Millisecond) // a worker that dies at once must not spin the master
			if w, err = start(); err != nil {
				return err
			}
			n.Say("worker %d", w.Pid)
		case sig := <-stop:
			n.Say("%v: stopping worker %d", sig, w.Pid)
			w.Signal(syscall.SIGTERM)
			n.Say("worker %d %v", w.Pid, <-exited)
			return nil
		}
	}
}
