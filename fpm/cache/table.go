package cache

import (
	"fmt"
	"strconv"
	"time"
	"unsafe"
)

// The table is open addressing with linear probing: a key lives in its
// home slot (hash & mask) or in the first empty slot after it. A lookup
// walks from home until it finds the key or an empty slot. A delete does
// not leave a tombstone: it moves the entries after the hole back into it
// when their home allows (backward shift), so a run of slots never has a
// gap a lookup would stop at too early.

// Store sets key to value, replacing what was there. A ttl above zero
// makes the entry expire after it (apcu_store's ttl); zero keeps it until
// it is deleted or the cache cleared.
func (c *Cache) Store(key string, value []byte, ttl time.Duration) error {
	return c.put(key, value, ttl, true)
}

// Add sets key to value only if the key is absent (or expired), and
// returns ErrExists otherwise: apcu_add, with which one worker of many
// wins a race to fill an entry.
func (c *Cache) Add(key string, value []byte, ttl time.Duration) error {
	return c.put(key, value, ttl, false)
}

func (c *Cache) put(key string, value []byte, ttl time.Duration, replace bool) error {
	if err := c.check(key, len(value)); err != nil {
		return err
	}
	c.lock.Lock()
	defer c.lock.Unlock()
	i, found := c.lookup(key)
	if found && !replace {
		return fmt.Errorf("cache: add %q: %w", key, ErrExists)
	}
	if !found {
		var err error
		if i, err = c.insert(key); err != nil {
			return err
		}
	}
	var expires int64
	if ttl > 0 {
		expires = c.now().Add(ttl).UnixNano()
	}
	c.set(i, value, expires)
	return nil
}

// Fetch returns a copy of key's value, and false if the key is absent or
// expired. The copy is the only allocation: the lookup hashes and compares
// the key in place.
func (c *Cache) Fetch(key string) ([]byte, bool) {
	if len(key) == 0 || len(key) > c.cfg.MaxKey {
		c.lock.Lock()
		c.h.misses++ // a key that cannot be stored is never found
		c.lock.Unlock()
		return nil, false
	}
	c.lock.Lock()
	defer c.lock.Unlock()
	i, found := c.lookup(key)
	if !found {
		c.h.misses++
		return nil, false
	}
	c.h.hits++
	return append([]byte(nil), c.value(i)...), true
}

// ANCHOR: inc
// Inc adds delta to the decimal integer stored at key and returns the new
// value: apcu_inc (a negative delta is apcu_dec). The read, the addition
// and the write happen under the lock, so increments from any number of
// processes are all counted. An absent key is created at 0 first, as APCu
// does, with no expiry; an existing one keeps its expiry. The value is
// text ("42"), so that Fetch shows it as it is. The sum wraps around at
// the int64 bounds, as a PHP integer does not (it would become a float).
func (c *Cache) Inc(key string, delta int64) (int64, error) {
	if err := c.check(key, 0); err != nil {
		return 0, err
	}
	c.lock.Lock()
	defer c.lock.Unlock()
	i, found := c.lookup(key)
	var n int64
	var expires int64
	if found {
		c.h.hits++
		var ok bool
		if n, ok = parseInt(c.value(i)); !ok {
			return 0, fmt.Errorf("cache: inc %q: value %q: %w", key, c.value(i), ErrNotNumber)
		}
		expires = c.slot(i).expires
	} else {
		c.h.misses++
		var err error
		if i, err = c.insert(key); err != nil {
			return 0, err
		}
	}
	n += delta
	var buf [20]byte // the longest int64, -9223372036854775808
	text := strconv.AppendInt(buf[:0], n, 10)
	if len(text) > c.cfg.MaxValue {
		if !found {
			c.remove(i)
		}
		return 0, fmt.Errorf("cache: inc %q: %d takes %d bytes, values are limited to %d: %w",
			key, n, len(text), c.cfg.MaxValue, ErrTooLong)
	}
	c.set(i, text, expires)
	return n, nil
}

// ANCHOR_END: inc

// Delete removes key and reports whether it was there (and live).
func (c *Cache) Delete(key string) bool {
	if len(key) == 0 || len(key) > c.cfg.MaxKey {
		return false
	}
	c.lock.Lock()
	defer c.lock.Unlock()
	i, found := c.lookup(key)
	if found {
		c.remove(i)
	}
	return found
}

// Clear removes every entry (apcu_clear_cache). The hit, miss and expired
// counts are the cache's life figures and stay.
func (c *Cache) Clear() {
	c.lock.Lock()
	defer c.lock.Unlock()
	c.clear()
}

// clear empties the table; the caller holds the lock.
func (c *Cache) clear() {
	for i := range int(c.h.slots) {
		c.slot(i).keyLen = 0
	}
	c.h.entries, c.h.used = 0, 0
}

// check refuses a key or value the slots have no room for.
func (c *Cache) check(key string, valueLen int) error {
	switch {
	case len(key) == 0:
		return fmt.Errorf("cache: empty key: %w", ErrTooLong)
	case len(key) > c.cfg.MaxKey:
		return fmt.Errorf("cache: key %.16q... of %d bytes, keys are limited to %d: %w", key, len(key), c.cfg.MaxKey, ErrTooLong)
	case valueLen > c.cfg.MaxValue:
		return fmt.Errorf("cache: value for %q of %d bytes, values are limited to %d: %w", key, valueLen, c.cfg.MaxValue, ErrTooLong)
	}
	return nil
}

// The rest runs under the lock.

func (c *Cache) slot(i int) *slot {
	return (*slot)(unsafe.Pointer(&c.table[i*c.slotSize]))
}

func (c *Cache) key(i int) []byte {
	off := i*c.slotSize + slotOverhead
	return c.table[off : off+int(c.slot(i).keyLen)]
}

func (c *Cache) value(i int) []byte {
	off := i*c.slotSize + slotOverhead + c.cfg.MaxKey
	return c.table[off : off+int(c.slot(i).valLen)]
}

// find walks from key's home slot to the slot that holds it (found) or to
// the first empty slot, where it would go. There is always an empty slot:
// the table has more slots than it admits entries.
func (c *Cache) find(key string, hash uint64) (i int, found bool) {
	for i = int(hash & c.mask); ; i = (i + 1) & int(c.mask) {
		s := c.slot(i)
		if s.keyLen == 0 {
			return i, false
		}
		if s.hash == hash && string(c.key(i)) == key { // compared in place: no allocation
			return i, true
		}
	}
}

// lookup finds a live entry for key. One whose time has passed is dropped
// on the way, as if it were not there. The clock is read only for an
// entry that has an expiry: reading it costs more than the rest of a
// lookup on a machine without a fast clock source (a VM's clock_gettime
// may be a real system call).
func (c *Cache) lookup(key string) (int, bool) {
	i, found := c.find(key, hashOf(key))
	if found && c.slot(i).expires != 0 && expired(c.slot(i), c.now().UnixNano()) {
		c.remove(i)
		c.h.expired++
		return 0, false
	}
	return i, found
}

func expired(s *slot, now int64) bool { return s.expires != 0 && s.expires <= now }

// insert takes an empty slot for key, which is not in the table. A full
// table first drops its expired entries; if none has expired, the insert
// fails: evicting a live entry would silently forget what a worker
// stored, and a cache that is full is a cache too small.
func (c *Cache) insert(key string) (int, error) {
	if c.h.entries >= c.h.capacity {
		c.expunge(c.now().UnixNano())
	}
	if c.h.entries >= c.h.capacity {
		return 0, fmt.Errorf("cache: store %q: all %d entries are live: %w", key, c.h.capacity, ErrFull)
	}
	hash := hashOf(key)
	i, _ := c.find(key, hash)
	s := c.slot(i)
	s.hash, s.keyLen, s.valLen, s.expires = hash, uint32(len(key)), 0, 0
	copy(c.table[i*c.slotSize+slotOverhead:], key)
	c.h.entries++
	c.h.used += uint64(len(key))
	return i, nil
}

// set writes slot i's value and expiry.
func (c *Cache) set(i int, value []byte, expires int64) {
	s := c.slot(i)
	c.h.used += uint64(len(value)) - uint64(s.valLen)
	s.valLen = uint32(len(value))
	s.expires = expires
	copy(c.value(i), value)
}

// expunge drops every expired entry.
func (c *Cache) expunge(now int64) {
	for i := range int(c.h.slots) {
		// A remove moves a later entry into slot i: look at i again.
		for s := c.slot(i); s.keyLen != 0 && expired(s, now); {
			c.remove(i)
			c.h.expired++
		}
	}
}

// ANCHOR: remove
// remove empties slot i and closes the gap (backward shift): each entry
// after it in the run moves back into the hole unless its home lies
// between the hole and where it is (cyclically), where a lookup would not
// pass the hole to reach it.
func (c *Cache) remove(i int) {
	s := c.slot(i)
	c.h.entries--
	c.h.used -= uint64(s.keyLen) + uint64(s.valLen)
	mask := int(c.mask)
	for j := (i + 1) & mask; c.slot(j).keyLen != 0; j = (j + 1) & mask {
		home := int(c.slot(j).hash) & mask
		if (j-home)&mask < (j-i)&mask {
			continue // its home is in (i, j]: it must stay after it
		}
		c.move(j, i)
		i = j
	}
	c.slot(i).keyLen = 0
}

// ANCHOR_END: remove

// move copies slot j into slot i.
func (c *Cache) move(j, i int) {
	*c.slot(i) = *c.slot(j)
	copy(c.key(i), c.key(j))
	copy(c.value(i), c.value(j))
}

// hashOf is 64-bit FNV-1a. Every process must compute the same hash for
// a key, which rules out Go's map hash and hash/maphash: their seed is
// random per process.
func hashOf(key string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= 1099511628211
	}
	return h
}

// parseInt reads a decimal int64 ("-42") without the allocation that
// strconv.ParseInt(string(b)) would make.
func parseInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, d := range b {
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + uint64(d-'0')
	}
	switch {
	case neg && n <= 1<<63:
		return int64(-n), true
	case !neg && n < 1<<63:
		return int64(n), true
	}
	return 0, false
}
