package cache

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/fpm/shm"
	"github.com/corofpm/corofpm/tutorial/peer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var roles = map[string]func(*proc.Child) error{
	// inc: wait for the start (the parent closes the pipe at fd 4), then
	// Inc "counter" n times, and store "from-<pid>".
	"inc": func(c *proc.Child) error {
		n, err := strconv.Atoi(c.Args[0])
		if err != nil {
			return err
		}
		seg, err := shm.Open(c.Files[0])
		if err != nil {
			return err
		}
		defer seg.Close()
		cache, err := Attach(seg)
		if err != nil {
			return err
		}
		c.Files[1].Read(make([]byte, 1)) // EOF: the start
		for range n {
			if _, err := cache.Inc("counter", 1); err != nil {
				return err
			}
		}
		return cache.Store(fmt.Sprintf("from-%d", os.Getpid()), []byte("hello"), 0)
	},
	// hold takes the table's lock and never lets go.
	"hold": func(c *proc.Child) error {
		seg, err := shm.Open(c.Files[0])
		if err != nil {
			return err
		}
		cache, err := Attach(seg)
		if err != nil {
			return err
		}
		cache.lock.Lock()
		select {}
	},
}

func TestMain(m *testing.M) {
	proc.Main(roles)
	os.Exit(m.Run())
}

// newCache makes a cache in a fresh segment, closed at the end of the test.
func newCache(t testing.TB, cfg Config) (*Cache, *shm.Segment) {
	seg, err := shm.Create("cache-test", Size(cfg))
	require.NoError(t, err)
	t.Cleanup(func() { seg.Close() })
	c, err := New(seg, cfg)
	require.NoError(t, err)
	return c, seg
}

// clock is a settable clock for expiry tests.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestStoreFetchAddDelete(t *testing.T) {
	c, _ := newCache(t, Config{Entries: 16, MaxKey: 8, MaxValue: 16})
	_, ok := c.Fetch("a")
	assert.False(t, ok)
	require.NoError(t, c.Store("a", []byte("one"), 0))
	v, ok := c.Fetch("a")
	assert.True(t, ok)
	assert.Equal(t, "one", string(v))
	v[0] = 'X' // a copy: the cache is untouched
	v, _ = c.Fetch("a")
	assert.Equal(t, "one", string(v))

	require.NoError(t, c.Store("a", []byte("uno"), 0), "Store replaces")
	assert.ErrorIs(t, c.Add("a", []byte("eins"), 0), ErrExists)
	require.NoError(t, c.Add("b", []byte(""), 0), "an empty value is a value")
	v, ok = c.Fetch("b")
	assert.True(t, ok)
	assert.Empty(t, v)

	assert.True(t, c.Delete("a"))
	assert.False(t, c.Delete("a"))
	_, ok = c.Fetch("a")
	assert.False(t, ok)

	info := c.Info()
	assert.Equal(t, 1, info.Entries)
	assert.Equal(t, 16, info.Capacity)
	assert.Equal(t, uint64(3), info.Hits)
	assert.Equal(t, uint64(2), info.Misses)
	assert.Equal(t, 1, info.Used, `the key "b" and its empty value`)
	assert.Equal(t, Size(c.Config()), info.Size)

	c.Clear()
	_, ok = c.Fetch("b")
	assert.False(t, ok)
	assert.Equal(t, 0, c.Info().Entries)
	assert.Equal(t, uint64(3), c.Info().Hits, "Clear keeps the life figures")
}

func TestBoundsAreClearErrors(t *testing.T) {
	c, _ := newCache(t, Config{Entries: 4, MaxKey: 8, MaxValue: 4})
	assert.EqualError(t, c.Store("", nil, 0), "cache: empty key: does not fit")
	assert.EqualError(t, c.Store("123456789", nil, 0),
		`cache: key "123456789"... of 9 bytes, keys are limited to 8: does not fit`)
	err := c.Store("k", []byte("12345"), 0)
	assert.EqualError(t, err, `cache: value for "k" of 5 bytes, values are limited to 4: does not fit`)
	assert.ErrorIs(t, err, ErrTooLong)
	_, ok := c.Fetch("123456789")
	assert.False(t, ok, "a key too long is a miss")

	_, err = c.Inc("n", 9999)
	require.NoError(t, err)
	_, err = c.Inc("n", 1)
	assert.EqualError(t, err, `cache: inc "n": 10000 takes 5 bytes, values are limited to 4: does not fit`)
	v, _ := c.Fetch("n")
	assert.Equal(t, "9999", string(v), "a failed Inc changes nothing")
	_, err = c.Inc("m", 10000)
	assert.ErrorIs(t, err, ErrTooLong)
	_, ok = c.Fetch("m")
	assert.False(t, ok, "nor does it leave a half-made entry")

	require.NoError(t, c.Store("s", []byte("ab"), 0))
	_, err = c.Inc("s", 1)
	assert.EqualError(t, err, `cache: inc "s": value "ab": not a number`)
}

func TestInc(t *testing.T) {
	c, _ := newCache(t, Config{Entries: 4, MaxKey: 8, MaxValue: 20})
	n, err := c.Inc("n", 5)
	require.NoError(t, err)
	assert.Equal(t, int64(5), n, "an absent key starts at 0")
	n, _ = c.Inc("n", -7)
	assert.Equal(t, int64(-2), n)
	v, _ := c.Fetch("n")
	assert.Equal(t, "-2", string(v), "the value is text")
	require.NoError(t, c.Store("n", []byte("9223372036854775807"), 0))
	n, err = c.Inc("n", 1)
	require.NoError(t, err)
	assert.Equal(t, int64(-9223372036854775808), n, "it wraps")
	n, err = c.Inc("n", 0)
	require.NoError(t, err, "the longest int64 fits in 20 bytes")
	assert.Equal(t, int64(-9223372036854775808), n)
}

func TestTTL(t *testing.T) {
	c, _ := newCache(t, Config{Entries: 4, MaxKey: 8, MaxValue: 8})
	clk := &clock{time.Unix(1000, 0)}
	c.now = clk.now
	require.NoError(t, c.Store("short", []byte("x"), time.Second))
	require.NoError(t, c.Store("long", []byte("y"), 0))
	_, err := c.Inc("short", 0)
	assert.ErrorIs(t, err, ErrNotNumber)

	clk.t = clk.t.Add(999 * time.Millisecond)
	_, ok := c.Fetch("short")
	assert.True(t, ok, "still live 1 ms before its time")
	clk.t = clk.t.Add(time.Millisecond)
	_, ok = c.Fetch("short")
	assert.False(t, ok, "expired at its time")
	_, ok = c.Fetch("long")
	assert.True(t, ok, "a ttl of 0 never expires")
	assert.Equal(t, uint64(1), c.Info().Expired)
	assert.Equal(t, 1, c.Info().Entries)
	require.NoError(t, c.Add("short", []byte("z"), 0), "an expired key can be added again")

	require.NoError(t, c.Store("n", []byte("1"), time.Second))
	_, err = c.Inc("n", 1)
	require.NoError(t, err)
	clk.t = clk.t.Add(time.Second)
	n, err := c.Inc("n", 1)
	require.NoError(t, err)
	assert.Equal(t, int64(1), n, "Inc kept the expiry, and the expired counter restarts at 0")
}

func TestFullTable(t *testing.T) {
	c, _ := newCache(t, Config{Entries: 8, MaxKey: 8, MaxValue: 8})
	clk := &clock{time.Unix(1000, 0)}
	c.now = clk.now
	for i := range 8 {
		ttl := time.Duration(0)
		if i < 2 {
			ttl = time.Second
		}
		require.NoError(t, c.Store(fmt.Sprint("k", i), []byte("v"), ttl))
	}
	err := c.Store("k8", []byte("v"), 0)
	assert.EqualError(t, err, `cache: store "k8": all 8 entries are live: cache full`)
	assert.ErrorIs(t, err, ErrFull)
	_, err = c.Inc("k8", 1)
	assert.ErrorIs(t, err, ErrFull)
	require.NoError(t, c.Store("k7", []byte("w"), 0), "replacing needs no new entry")

	clk.t = clk.t.Add(time.Second)
	require.NoError(t, c.Store("k8", []byte("v"), 0), "a full table drops its expired entries first")
	assert.Equal(t, uint64(2), c.Info().Expired)
	assert.Equal(t, 7, c.Info().Entries)
	for i := 2; i <= 8; i++ {
		_, ok := c.Fetch(fmt.Sprint("k", i))
		assert.True(t, ok, "k%d", i)
	}
}

func TestAttach(t *testing.T) {
	c, seg := newCache(t, Config{Entries: 4, MaxKey: 8, MaxValue: 8})
	require.NoError(t, c.Store("k", []byte("v"), 0))
	other, err := Attach(seg)
	require.NoError(t, err)
	assert.Equal(t, c.Config(), other.Config())
	v, ok := other.Fetch("k")
	assert.True(t, ok)
	assert.Equal(t, "v", string(v))

	blank, err := shm.Create("blank", 4096)
	require.NoError(t, err)
	defer blank.Close()
	_, err = Attach(blank)
	assert.ErrorIs(t, err, ErrNotCache)
	_, err = New(blank, Config{Entries: 1000, MaxKey: 8, MaxValue: 8})
	assert.ErrorContains(t, err, "the segment has 4096")
	_, err = New(blank, Config{Entries: 4})
	assert.ErrorContains(t, err, "each must be > 0")
}

// TestIncrementsFromManyProcesses has four child processes and this one
// increment one counter at once: every increment is counted, and what
// each child stored, this process reads.
func TestIncrementsFromManyProcesses(t *testing.T) {
	t.Cleanup(func() {
		kids, err := peer.Children()
		require.NoError(t, err)
		assert.Empty(t, kids, "children left running")
	})
	const children, n = 4, 20000
	c, seg := newCache(t, Config{Entries: 64, MaxKey: 32, MaxValue: 32})
	start, gun, err := os.Pipe()
	require.NoError(t, err)
	var ps []*proc.Process
	for range children {
		p, err := proc.Start(proc.Spec{Role: "inc", Args: []string{strconv.Itoa(n)}, Files: []*os.File{seg.File(), start}, Stderr: os.Stderr})
		require.NoError(t, err)
		ps = append(ps, p)
	}
	start.Close()
	gun.Close() // every child reads EOF: they start together
	for range n {
		_, err := c.Inc("counter", 1)
		require.NoError(t, err)
	}
	for _, p := range ps {
		st, err := p.Wait()
		require.NoError(t, err)
		require.Equal(t, 0, st.Code, st.String())
	}
	v, _ := c.Fetch("counter")
	assert.Equal(t, strconv.Itoa((children+1)*n), string(v))
	for _, p := range ps {
		v, ok := c.Fetch(fmt.Sprintf("from-%d", p.Pid))
		assert.True(t, ok, "child %d's entry", p.Pid)
		assert.Equal(t, "hello", string(v))
	}
	info := c.Info()
	assert.Equal(t, uint64(1), info.Misses, "the first Inc, whichever process made it")
	assert.Equal(t, uint64((children+1)*n-1+1+children), info.Hits)
	assert.Zero(t, c.Holder())
}

// TestRecoverFromADeadHolder kills a child that holds the lock: the table
// is stuck until the parent, which reaped it, recovers it.
func TestRecoverFromADeadHolder(t *testing.T) {
	c, seg := newCache(t, Config{Entries: 4, MaxKey: 8, MaxValue: 8})
	require.NoError(t, c.Store("k", []byte("v"), 0))
	p, err := proc.Start(proc.Spec{Role: "hold", Files: []*os.File{seg.File()}, Stderr: os.Stderr})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return c.Holder() == p.Pid }, 10*time.Second, time.Millisecond)
	require.NoError(t, p.Signal(syscall.SIGKILL))
	_, err = p.Wait()
	require.NoError(t, err)

	assert.Equal(t, p.Pid, c.Holder(), "the dead child still holds the lock")
	assert.False(t, c.Recover(os.Getpid()), "Recover names the holder")
	assert.True(t, c.Recover(p.Pid))
	assert.Zero(t, c.Holder())
	_, ok := c.Fetch("k")
	assert.False(t, ok, "the table was emptied: the dead child may have left it half-changed")
	require.NoError(t, c.Store("k", []byte("v"), 0))
}

// TestFetchAllocatesOnlyTheCopy: a hit costs one allocation, the value
// returned; a miss none.
func TestFetchAllocatesOnlyTheCopy(t *testing.T) {
	c, _ := newCache(t, Config{Entries: 64, MaxKey: 32, MaxValue: 64})
	require.NoError(t, c.Store("user:42", []byte(strings.Repeat("x", 64)), 0))
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { c.Fetch("user:42") }))
	assert.Equal(t, 0.0, testing.AllocsPerRun(100, func() { c.Fetch("user:43") }))
	assert.Equal(t, 0.0, testing.AllocsPerRun(100, func() { c.Inc("n", 1) }))
}

// FuzzTable runs a sequence of operations decoded from the input on a
// small table (so that probes wrap around, runs collide and the table
// fills) and on a Go map, and checks after each that they agree.
func FuzzTable(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte("\x00\x01\x00\x02\x00\x03\x00\x04\x00\x05\x00\x06\x00\x07\x00\x08\x00\x09\x20\x01\x20\x03\x30\x00"))
	f.Add([]byte("\x10\x01\x10\x01\x40\x05\x00\x05\x50\x00\x60\x00\x00\x07\x70\x02"))
	f.Fuzz(func(t *testing.T, ops []byte) {
		c, _ := newCache(t, Config{Entries: 6, MaxKey: 4, MaxValue: 20})
		clk := &clock{time.Unix(1000, 0)}
		c.now = clk.now
		m := newModel(6, clk)
		for i := 0; i+1 < len(ops); i += 2 {
			op, key := ops[i]>>4, fmt.Sprint("k", ops[i+1]%10)
			ttl := time.Duration(ops[i]&3) * time.Second
			switch op % 8 {
			case 0:
				assert.Equal(t, m.store(key, ttl, true), errors.Is(c.Store(key, []byte(key), ttl), ErrFull), "store %s", key)
			case 1:
				assert.Equal(t, m.store(key, ttl, false), c.Add(key, []byte(key), ttl) != nil, "add %s", key)
			case 2:
				want, wantOK := m.fetch(key)
				got, ok := c.Fetch(key)
				assert.Equal(t, wantOK, ok, "fetch %s", key)
				assert.Equal(t, want, string(got), "fetch %s", key)
			case 3:
				want, wantErr := m.inc(key, int64(ops[i]&15)-8)
				got, err := c.Inc(key, int64(ops[i]&15)-8)
				assert.Equal(t, wantErr, err != nil, "inc %s: %v", key, err)
				assert.Equal(t, want, got, "inc %s", key)
			case 4:
				assert.Equal(t, m.delete(key), c.Delete(key), "delete %s", key)
			case 5:
				clk.t = clk.t.Add(time.Duration(ops[i+1]%3) * time.Second)
			case 6:
				c.Clear()
				m.clear()
			case 7:
				assert.Equal(t, len(m.m), c.Info().Entries, "entries, expired ones not yet dropped included")
			}
			if t.Failed() {
				t.Fatalf("after op %d", i/2)
			}
		}
	})
}

// model is the cache as a Go map, with the same capacity rule.
type model struct {
	cap int
	clk *clock
	m   map[string]entry
}

type entry struct {
	value   string
	expires time.Time // zero: never
}

func newModel(capacity int, clk *clock) *model {
	return &model{cap: capacity, clk: clk, m: map[string]entry{}}
}

func (m *model) alive(e entry) bool { return e.expires.IsZero() || m.clk.t.Before(e.expires) }

func (m *model) get(key string) (entry, bool) {
	e, ok := m.m[key]
	if ok && !m.alive(e) {
		delete(m.m, key)
		return entry{}, false
	}
	return e, ok
}

// room makes room for a new key as the cache does: drop the expired
// entries when full. It reports whether there is room.
func (m *model) room() bool {
	if len(m.m) >= m.cap {
		for k, e := range m.m {
			if !m.alive(e) {
				delete(m.m, k)
			}
		}
	}
	return len(m.m) < m.cap
}

// store reports whether the store failed for a full table; for Add, any
// failure.
func (m *model) store(key string, ttl time.Duration, replace bool) bool {
	if _, ok := m.get(key); ok {
		if !replace {
			return true
		}
	} else if !m.room() {
		return true
	}
	e := entry{value: key}
	if ttl > 0 {
		e.expires = m.clk.t.Add(ttl)
	}
	m.m[key] = e
	return false
}

func (m *model) fetch(key string) (string, bool) {
	e, ok := m.get(key)
	return e.value, ok
}

func (m *model) inc(key string, delta int64) (int64, bool) {
	e, ok := m.get(key)
	if !ok {
		if !m.room() {
			return 0, true
		}
		e.value = "0"
	}
	n, err := strconv.ParseInt(e.value, 10, 64)
	if err != nil {
		return 0, true
	}
	e.value = strconv.FormatInt(n+delta, 10)
	m.m[key] = e
	return n + delta, false
}

func (m *model) delete(key string) bool {
	_, ok := m.get(key)
	delete(m.m, key)
	return ok
}

func (m *model) clear() { clear(m.m) }

func BenchmarkFetch(b *testing.B) {
	c, _ := newCache(b, Config{Entries: 1024, MaxKey: 32, MaxValue: 64})
	for i := range 768 {
		require.NoError(b, c.Store(fmt.Sprint("user:", i), []byte(strings.Repeat("x", 64)), 0))
	}
	b.ReportAllocs()
	for b.Loop() {
		c.Fetch("user:42")
	}
}

func BenchmarkStore(b *testing.B) {
	c, _ := newCache(b, Config{Entries: 1024, MaxKey: 32, MaxValue: 64})
	v := []byte(strings.Repeat("x", 64))
	b.ReportAllocs()
	for b.Loop() {
		c.Store("user:42", v, 0)
	}
}

func BenchmarkInc(b *testing.B) {
	c, _ := newCache(b, Config{Entries: 1024, MaxKey: 32, MaxValue: 64})
	b.ReportAllocs()
	for b.Loop() {
		c.Inc("counter", 1)
	}
}

// BenchmarkIncParallel is Inc from every CPU at once on one key: the
// lock's cache line moves between CPUs at every increment.
func BenchmarkIncParallel(b *testing.B) {
	c, _ := newCache(b, Config{Entries: 1024, MaxKey: 32, MaxValue: 64})
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Inc("counter", 1)
		}
	})
}
