package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/corofpm/corofpm/net/sock"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

type echoSettings struct {
	clients  int           // connections at once
	messages int           // round trips per client
	think    time.Duration // a client's pause between round trips
}

type echoResult struct {
	// Served is the server's log: which client each echo was for, in the
	// order the tasks made them.
	Served []int
	// Elapsed is the time until the last client was done; Serial is what
	// it would have been had the clients been served one after another.
	Elapsed, Serial time.Duration
	// Errors are the clients' errors; Tasks how many tasks the server ran.
	Errors []error
	Tasks  int
}

// ANCHOR: echo-server
// echoServer accepts `clients` connections, a task for each: every wait
// for a socket is a system call, so one poll(2) serves them all.
func echoServer(ln *sock.Listener, clients int, served *[]int) func(*Task) {
	return func(t *Task) {
		for c := range clients {
			t.WaitRead(ln.FD)
			conn, err := ln.AcceptNow()
			if err != nil {
				panic(err) // readable, so a connection is waiting
			}
			t.Spawn(fmt.Sprintf("client %d", c+1), func(t *Task) {
				defer conn.Close()
				buf := make([]byte, 512)
				for {
					t.WaitRead(conn.FD)
					k, err := conn.Read(buf) // readable: it will not block
					if err != nil {
						return // io.EOF: the client is done
					}
					t.WaitWrite(conn.FD)
					conn.Write(buf[:k])
					*served = append(*served, c+1)
				}
			})
		}
	}
}

// ANCHOR_END: echo-server

// echo runs the server's tasks on this goroutine while the clients, real
// sockets on goroutines of their own, each make their round trips with a
// pause between them.
func echo(n *narrator.Narrator, cfg echoSettings) (res echoResult, err error) {
	ln, err := sock.Listen("127.0.0.1:0", 16)
	if err != nil {
		return res, err
	}
	defer ln.Close()
	if err := ln.SetNonblock(true); err != nil {
		return res, err
	}
	s, err := newSched()
	if err != nil {
		return res, err
	}
	s.Spawn("server", echoServer(ln, cfg.clients, &res.Served))
	n.Say("the server task waits on %s (fd %d); %d clients each send %d lines, %s apart", ln.Addr, ln.FD, cfg.clients, cfg.messages, cfg.think)

	res.Errors = make([]error, cfg.clients)
	var wg sync.WaitGroup
	t0 := time.Now()
	for c := range cfg.clients {
		wg.Go(func() { res.Errors[c] = client(ln.Addr, c+1, cfg) })
	}
	err = s.Run()
	wg.Wait()
	res.Elapsed = time.Since(t0)
	res.Serial = time.Duration(cfg.clients*cfg.messages) * cfg.think
	res.Tasks = s.lastID
	if err != nil {
		return res, err
	}
	if err := errors.Join(res.Errors...); err != nil {
		return res, err
	}
	n.Say("the server's echoes, by client, in the order its tasks made them:")
	n.Say("  %v", res.Served)
	t := n.Table("clients", "round trips", "tasks", "switches", "took", "one client after another")
	t.Row(cfg.clients, len(res.Served), res.Tasks, s.Switches, res.Elapsed.Round(time.Millisecond), res.Serial.Round(time.Millisecond))
	t.Print()
	return res, nil
}

// client makes its round trips and checks every echo.
func client(addr string, id int, cfg echoSettings) error {
	conn, err := sock.Dial(addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetReadTimeout(5 * time.Second); err != nil {
		return err
	}
	buf := make([]byte, 512)
	for i := range cfg.messages {
		msg := fmt.Appendf(nil, "client %d line %d\n", id, i)
		if _, err := conn.Write(msg); err != nil {
			return err
		}
		if _, err := io.ReadFull(conn, buf[:len(msg)]); err != nil {
			return fmt.Errorf("client %d: %w", id, err)
		}
		if !bytes.Equal(buf[:len(msg)], msg) {
			return fmt.Errorf("client %d: sent %q, got back %q", id, msg, buf[:len(msg)])
		}
		time.Sleep(cfg.think)
	}
	return nil
}

// interleaved reports whether the server turned from one client to
// another before the first was done: served at once, not in turn.
func interleaved(served []int) bool {
	var done []int
	for i, c := range served {
		if i > 0 && served[i-1] != c {
			if slices.Contains(done, c) {
				return true
			}
			done = append(done, served[i-1])
		}
	}
	return false
}
