package fpm

import (
	"time"

	"golang.org/x/sys/unix"
)

// watch starts an ondemand pool's socket watcher: a goroutine that sleeps
// in poll(2) on the listening socket and tells the master when a
// connection waits, so that the master can start a worker for it. php-fpm
// puts the socket in the master's event loop for the same purpose.
func (p *pool) watch() {
	stop := make(chan struct{})
	p.stopWatch = stop
	fd := p.ln.FD
	go func() {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			select {
			case <-stop:
				return
			default:
			}
			n, err := unix.Poll(fds, 500) // wake now and then to see stop
			if err != nil && err != unix.EINTR {
				return
			}
			if n == 0 || fds[0].Revents&unix.POLLIN == 0 {
				continue
			}
			select {
			case p.m.demand <- p:
			case <-stop:
				return
			}
			// The connection stays queued until a worker takes it, and
			// poll keeps saying so: give the worker time to start
			// rather than spin.
			time.Sleep(20 * time.Millisecond)
		}
	}()
}

// onDemand runs in the master when a connection waits on an ondemand
// pool: it starts a worker unless one is idle (it will take the
// connection) or the pool is full.
func (p *pool) onDemand() {
	if len(p.children) >= p.cfg.MaxChildren {
		p.reachedMaxChildren()
		return
	}
	if idle, _, _ := p.count(); idle > 0 {
		return
	}
	p.warnedMaxChildren = false
	p.spawn(1)
}
