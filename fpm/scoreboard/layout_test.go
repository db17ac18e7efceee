package scoreboard

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corofpm/corofpm/fpm/shm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLayout(t *testing.T) {
	assert.Equal(t, 1024, slotSize, "a slot, in whole cache lines")
	assert.Zero(t, headerSize%64)
	assert.Equal(t, headerSize+3*1024, Size(3))
}

func TestText(t *testing.T) {
	for _, tc := range []struct{ in, out string }{
		{"", ""},
		{"GET", "GET"},
		{"1234567", "1234567"},                  // the NUL ends the first word
		{"12345678", "12345678"},                // the NUL takes a second word
		{"123456789abcdef", "123456789abcdef"},  // the longest that fits in 16 bytes
		{"123456789abcdefg", "123456789abcdef"}, // cut to keep room for the NUL
		{strings.Repeat("é", 20), strings.Repeat("é", 7) + "\xc3"}, // bytes, as C cuts them
	} {
		var field [2]atomic.Uint64
		for i := range field {
			field[i].Store(^uint64(0)) // stale bytes with no NUL in them
		}
		storeText(field[:], tc.in)
		assert.Equal(t, tc.out, loadText(field[:]), "%q", tc.in)
	}
}

// TestDeadWriterMidWrite leaves a slot's sequence count odd, as a worker
// killed inside Begin does. Readers wait, then report the slot stuck; the
// master's Reclaim repairs the count and frees the slot.
func TestDeadWriterMidWrite(t *testing.T) {
	seg, err := shm.Create("stuck", Size(2))
	require.NoError(t, err)
	defer seg.Close()
	b, err := New(seg, 2, "www", "static")
	require.NoError(t, err)
	s, err := b.Acquire(42)
	require.NoError(t, err)
	s.r.seq.beginWrite() // and never endWrite

	start := time.Now()
	views := b.Snapshot()
	assert.GreaterOrEqual(t, time.Since(start), readPatience, "the reader waited for the write to end")
	assert.Equal(t, []SlotView{{Index: 0, PID: 42, Stuck: true}}, views)

	assert.Equal(t, 1, b.Reclaim(42))
	assert.Empty(t, b.Snapshot())
	s, err = b.Acquire(43)
	require.NoError(t, err)
	s.Begin(Request{Method: "GET", URI: "/ok.php"})
	views = b.Snapshot()
	require.Len(t, views, 1)
	assert.Equal(t, "/ok.php", views[0].URI)
}
