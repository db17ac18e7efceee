package fastcgi

// Buffers lends Conns their read and write buffers for as long as they
// read a request or write a response, and takes them back in between. A
// server whose thousands of connections mostly wait (the coroutine FPM's,
// while the scripts wait on an upstream, or nginx keeps a connection for
// its next request) then holds buffers for the few that are reading or
// writing, not for every connection. Only a Conn on a Waiter waits with
// no buffer: any other reader is handed one to block in.
//
// Buffers is not safe for concurrent use: the Conns that share one run on
// one thread, as a coroutine scheduler's do.
type Buffers struct {
	// Size is a new buffer's capacity: 0 means DefaultBuffer.
	Size int
	free [][]byte
}

// keepBuffer is the largest buffer Buffers takes back: one grown by a
// large response is dropped rather than lent again and again.
const keepBuffer = 64 << 10

func (b *Buffers) get() []byte {
	if n := len(b.free); n > 0 {
		buf := b.free[n-1]
		b.free[n-1] = nil
		b.free = b.free[:n-1]
		return buf
	}
	return make([]byte, 0, b.size())
}

// put takes buf back, unless it is too small to be worth lending (an
// append that found no buffer made it) or too large to keep.
func (b *Buffers) put(buf []byte) {
	if cap(buf) < b.size() || cap(buf) > keepBuffer {
		return
	}
	b.free = append(b.free, buf[:0])
}

func (b *Buffers) size() int {
	if b.Size > 0 {
		return b.Size
	}
	return DefaultBuffer
}

// Waiter is a connection that can wait for bytes without a buffer to read
// them into: coro's hooked Conn. A Conn with Config.Buffers on one reads
// what has arrived (ReadNow), and when nothing has, gives its buffer back
// and waits.
type Waiter interface {
	NowReader
	// WaitReadable returns once the connection has something to read (or
	// its peer closed it).
	WaitReadable() error
}

// borrow gives c a read buffer, if it lent its own back.
func (c *Conn) borrow() {
	if cap(c.in) == 0 && c.cfg.Buffers != nil {
		c.in = c.cfg.Buffers.get()
	}
}

// lendBackIn gives the read buffer back when nothing is left in it.
func (c *Conn) lendBackIn() {
	if c.cfg.Buffers != nil && c.r == len(c.in) && cap(c.in) > 0 {
		c.cfg.Buffers.put(c.in)
		c.in, c.r = nil, 0
	}
}

// lendBackOut gives the write buffer back, once what it held is written.
func (c *Conn) lendBackOut() {
	if c.cfg.Buffers != nil {
		c.cfg.Buffers.put(c.out)
		c.out = nil
	}
}

// wbuf gives c a write buffer before it frames a record, if it lent its
// own back. (An append to a nil c.out would work too, from a small
// allocation instead.)
func (c *Conn) wbuf() {
	if c.out == nil && c.cfg.Buffers != nil {
		c.out = c.cfg.Buffers.get()
	}
}
