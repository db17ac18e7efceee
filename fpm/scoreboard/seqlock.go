package scoreboard

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"sync/atomic"
	"time"
)

// seqlock lets one writer update a record that others copy, without a
// reader ever making the writer wait.
//
// The record carries a sequence number. The writer makes it odd before it
// changes anything and even again when it is done. A reader loads the
// number, copies the record, and loads the number again: if it was even
// and has not moved, no write overlapped the copy, and the copy is a state
// the record really was in. Otherwise the reader throws the copy away and
// tries again. The writer never looks at readers: a worker updating its
// slot costs the same whether the status page is polled or not, which is
// the point (php-fpm instead takes a spinlock per slot, so a reader copying
// a slot holds up the worker that owns it).
//
// The copy may run into a write in progress, so every word of the record
// is loaded and stored atomically too. That keeps each word whole (never
// half old, half new) and keeps the compiler and the CPU from moving a
// field's load across the loads of the sequence number. Go's atomics are
// sequentially consistent, the strongest kind, so no fence is needed. The
// cost is on the writer: an atomic store is an XCHG on amd64, which is why
// text fields store only the words their text needs (storeText).
//
// There must be one writer at a time per record: a worker owns its slot,
// the master its pool figures. Two writers would make the count even in
// the middle of their writes.
type seqlock struct{ seq atomic.Uint32 }

// How long a reader waits for a write to end before it gives up. A writer
// is inside for well under a microsecond, unless the kernel preempts it
// there: on a loaded machine that can last tens of milliseconds. A count
// odd for this long most likely belongs to a writer that died mid-write,
// which the master will find when it reaps it (Board.Reclaim).
const readPatience = time.Second

func (l *seqlock) beginWrite() { l.seq.Add(1) } // odd: a write is in progress
func (l *seqlock) endWrite()   { l.seq.Add(1) } // even: the record is whole

// read runs copy until one run overlapped no write, and reports true. It
// reports false if the count stayed odd for readPatience.
func (l *seqlock) read(copy func()) bool {
	var deadline time.Time
	for i := 0; ; i++ {
		s := l.seq.Load()
		if s&1 == 0 {
			copy()
			if l.seq.Load() == s {
				return true
			}
		}
		switch {
		case i < 100: // the write will be over in a few hundred nanoseconds
		case deadline.IsZero():
			deadline = time.Now().Add(readPatience)
		case time.Now().After(deadline):
			return false
		default:
			runtime.Gosched()
			time.Sleep(10 * time.Microsecond)
		}
	}
}

// repair makes the count even again after its writer died mid-write. The
// caller, the only writer now, then rewrites the whole record.
func (l *seqlock) repair() {
	if l.seq.Load()&1 == 1 {
		l.seq.Add(1)
	}
}

// storeText writes s into dst as C keeps a char[N] field such as
// request_uri[128]: bytes followed by a NUL, truncated to fit with its NUL.
// Each 8 bytes are one atomic word store (see seqlock), in the machine's
// byte order so that the memory reads as a C string. Only the words that s
// and its NUL need are written: a reader stops at the NUL, and the stale
// bytes after it are never read.
func storeText(dst []atomic.Uint64, s string) {
	if limit := len(dst)*8 - 1; len(s) > limit {
		s = s[:limit]
	}
	for i := 0; i <= len(s)/8; i++ {
		var w [8]byte
		copy(w[:], s[i*8:])
		dst[i].Store(binary.NativeEndian.Uint64(w[:]))
	}
}

// loadText reads a string storeText wrote, up to its NUL.
func loadText(src []atomic.Uint64) string {
	var buf [512]byte // the longest field, so that reading allocates once
	b := buf[:0]
	for i := range src {
		var w [8]byte
		binary.NativeEndian.PutUint64(w[:], src[i].Load())
		if n := bytes.IndexByte(w[:], 0); n >= 0 {
			return string(append(b, w[:n]...))
		}
		b = append(b, w[:]...)
	}
	return string(b) // a copy torn by a write: the seqlock discards it
}
