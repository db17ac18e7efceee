package main

import (
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/corofpm/corofpm/fpm"
	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/fpm/script"
	"github.com/corofpm/corofpm/net/sock"
)

// pool is the master's side of pm = static: N worker processes started on
// one listening socket, and stopped together.
type pool struct {
	workers []*proc.Process
}

// ANCHOR: prefork
// startPool starts n workers on the listener. Each is this binary again,
// with the socket as fd 3 and the write end of a "ready" pipe as fd 4: a
// worker writes one byte there just before its first accept(2), so the
// master knows when the pool is really serving.
func startPool(ln *sock.Listener, n int, upstream string, output func(pid int) io.Writer) (*pool, error) {
	lnFile, err := ln.File()
	if err != nil {
		return nil, err
	}
	defer lnFile.Close() // the children have their own copies
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer readyR.Close()
	p := &pool{}
	for range n {
		w, err := proc.Start(proc.Spec{
			Role:   "worker",
			Args:   []string{upstream},
			Files:  []*os.File{lnFile, readyW},
			Output: output,
		})
		if err != nil {
			readyW.Close()
			p.stop()
			return nil, err
		}
		p.workers = append(p.workers, w)
	}
	readyW.Close()
	readyR.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(readyR, make([]byte, n)); err != nil {
		p.stop()
		return nil, fmt.Errorf("waiting for %d workers to be ready: %w", n, err)
	}
	return p, nil
}

// ANCHOR_END: prefork

// stop ends every worker with SIGTERM (php-fpm's fast stop) and reaps it.
func (p *pool) stop() []proc.Status {
	var st []proc.Status
	for _, w := range p.workers {
		w.Signal(syscall.SIGTERM)
	}
	for _, w := range p.workers {
		s, _ := w.Wait()
		st = append(st, s)
	}
	p.workers = nil
	return st
}

func (p *pool) pids() []int {
	var pids []int
	for _, w := range p.workers {
		pids = append(pids, w.Pid)
	}
	return pids
}

// ANCHOR: worker
// workerMain is a worker process: it takes the socket from fd 3, says it is
// ready on fd 4, and serves FastCGI one request at a time until SIGTERM
// (whose default action ends the process) or its parent's death.
func workerMain(c *proc.Child) error {
	if len(c.Files) != 2 || len(c.Args) != 1 {
		return fmt.Errorf("want 2 inherited files and an upstream URL, got %d and %q", len(c.Files), c.Args)
	}
	ln, err := sock.FileListener(c.Files[0])
	if err != nil {
		return err
	}
	w := &fpm.BlockingWorker{
		Listener: ln,
		Handler:  script.Default(script.Blocking{}, c.Args[0]),
		Logf:     func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) },
	}
	ready := c.Files[1]
	ready.Write([]byte{1})
	ready.Close()
	return w.Run()
}

// ANCHOR_END: worker
