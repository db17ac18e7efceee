package poll

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BenchmarkWait measures one ready event among idle fds: write a byte to
// the one active socket, Wait, read the byte back. The idle sockets are
// watched and never ready, as most of a busy server's connections are;
// select and poll pay for each of them on every call, epoll does not.
// With -benchmem, allocs/op shows that Wait allocates nothing.
//
//	go test -bench . -benchmem ./net/poll
func BenchmarkWait(b *testing.B) {
	for _, idle := range []int{10, 400, 5000} {
		for _, name := range Backends {
			b.Run(fmt.Sprintf("%s/idle=%d", name, idle), func(b *testing.B) {
				benchWait(b, name, idle)
			})
		}
	}
}

func benchWait(b *testing.B, name string, idle int) {
	p, err := New(name)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	for range idle {
		a, _ := pair(b)
		if err := p.Add(a, Readable); errors.Is(err, ErrFDSetSize) {
			b.Skip(err)
		} else if err != nil {
			b.Fatal(err)
		}
	}
	a, peer := pair(b)
	if err := p.Add(a, Readable); err != nil {
		b.Skip(err)
	}
	events := make([]Event, 64)
	one := []byte("x")
	b.ReportAllocs()
	for b.Loop() {
		unix.Write(peer, one)
		if n, err := p.Wait(events, time.Second); n != 1 || err != nil {
			b.Fatalf("Wait: %d events, %v", n, err)
		}
		unix.Read(a, one)
	}
}
