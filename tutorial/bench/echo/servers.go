// Package echo measures net/reactor against its peers on the smallest
// server there is: one that sends back what it reads. The peers are gnet,
// a Go event-loop library built for this kind of benchmark, and the plain
// Go way, a goroutine per net.Conn. Each runs in a process of its own with
// one thread of work, so that the load generator, in the benchmark's
// process, does not share a runtime with the server it measures.
//
// It is a module of its own so that gnet stays out of corofpm's go.mod:
//
//	make bench-echo
//
// runs the throughput, idle-memory and timer benchmarks and prints one
// table each.
package echo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/net/reactor"
	"github.com/panjf2000/gnet/v2"
)

// The servers, by role name; every one listens on the address in its
// first argument and runs until SIGTERM.
const (
	Reactor = "reactor"
	Gnet    = "gnet"
	NetConn = "net.Conn"
)

// Servers lists the roles in the order the tables show them.
var Servers = []string{Reactor, Gnet, NetConn}

// EnvProfile, when set to a directory in the benchmark's environment,
// makes every server write a CPU profile there, ROLE-PID.pprof, covering
// its whole life: `go tool pprof -top DIR/reactor-PID.pprof` says where its
// time went.
const EnvProfile = "ECHO_PROFILE"

// Roles are the child roles for proc.Main: one per server.
var Roles = map[string]func(*proc.Child) error{
	Reactor: func(c *proc.Child) error { return serve(c, Reactor, reactorEcho) },
	Gnet:    func(c *proc.Child) error { return serve(c, Gnet, gnetEcho) },
	NetConn: func(c *proc.Child) error { return serve(c, NetConn, netConnEcho) },
}

// serve runs one server role: it profiles it if asked, and gives it a
// context that SIGTERM cancels.
func serve(c *proc.Child, role string, run func(ctx context.Context, addr string) error) error {
	if len(c.Args) != 1 {
		return fmt.Errorf("usage: %s ADDR", role)
	}
	if dir := os.Getenv(EnvProfile); dir != "" {
		f, err := os.Create(fmt.Sprintf("%s/%s-%d.pprof", dir, role, os.Getpid()))
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	return run(ctx, c.Args[0])
}

// reactorEcho is the echo server on net/reactor: one loop, on the thread
// that calls Run, writing back each read's bytes from OnData.
func reactorEcho(ctx context.Context, addr string) error {
	l, err := reactor.New()
	if err != nil {
		return err
	}
	if _, err := l.Listen(addr, func(c *reactor.Conn) {
		c.OnData(func(c *reactor.Conn, p []byte) { c.Write(p) })
	}); err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		l.Stop()
	}()
	return l.Run()
}

// gnetServer is the same on gnet with one event loop (multicore off).
type gnetServer struct {
	gnet.BuiltinEventEngine
}

// OnTraffic takes what was read and queues it for writing, as gnet's own
// echo example does.
func (*gnetServer) OnTraffic(c gnet.Conn) gnet.Action {
	p, _ := c.Next(-1)
	c.Write(p)
	return gnet.None
}

func gnetEcho(ctx context.Context, addr string) error {
	go func() {
		<-ctx.Done()
		stop, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		gnet.Stop(stop, "tcp://"+addr)
	}()
	return gnet.Run(&gnetServer{}, "tcp://"+addr,
		gnet.WithMulticore(false), gnet.WithNumEventLoop(1), gnet.WithLockOSThread(true),
		gnet.WithReuseAddr(true), gnet.WithTCPNoDelay(gnet.TCPNoDelay))
}

// netConnEcho is the plain Go way: a goroutine per connection, each
// blocked in Read under the runtime's netpoller, which is epoll too.
// GOMAXPROCS=1 in its environment holds it to one thread of work.
func netConnEcho(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			buf := make([]byte, 4<<10)
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				if _, err := c.Write(buf[:n]); err != nil {
					return
				}
			}
		}()
	}
}
