package narrator

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
)

func TestTaggedHoldsPartialLines(t *testing.T) {
	var buf bytes.Buffer
	n := New(&buf)
	w := n.Tagged("worker", 4211)

	io.WriteString(w, "acc")
	if buf.Len() != 0 {
		t.Fatalf("a partial line was printed: %q", buf.String())
	}
	io.WriteString(w, "epted fd 7\nread 12")
	if got, want := buf.String(), "  [worker 4211] accepted fd 7\n"; got != want {
		t.Fatalf("after the newline: %q, want %q", got, want)
	}
	io.WriteString(w, "0 bytes\nexit")
	if got, want := buf.String(), "  [worker 4211] accepted fd 7\n  [worker 4211] read 120 bytes\n"; got != want {
		t.Fatalf("second line: %q, want %q", got, want)
	}
	if err := w.(*LineWriter).Flush(); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); !strings.HasSuffix(got, "  [worker 4211] exit\n") {
		t.Fatalf("Flush did not print the trailing partial line: %q", got)
	}
	before := buf.Len()
	if err := w.(io.Closer).Close(); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != before {
		t.Errorf("Close after Flush printed again: %q", buf.String()[before:])
	}
}

func TestTaggedSeveralLinesInOneWrite(t *testing.T) {
	var buf bytes.Buffer
	n := New(&buf)
	w := n.Tagged("php", 0)
	io.WriteString(w, "a\r\nb\n\nc\n")
	want := "  [php] a\n  [php] b\n  [php]\n  [php] c\n"
	if got := buf.String(); got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

func TestTaggedShowsOverlongLineInPieces(t *testing.T) {
	var buf bytes.Buffer
	n := New(&buf)
	w := n.Tagged("php", 1)
	io.WriteString(w, strings.Repeat("x", maxPartial+10))
	if got := strings.Count(buf.String(), "\n"); got != 1 {
		t.Fatalf("overlong partial line: %d lines printed, want 1 (held it all?)", got)
	}
	w.(*LineWriter).Flush()
	if got := strings.Count(buf.String(), "x"); got != maxPartial+10 {
		t.Errorf("printed %d of %d bytes", got, maxPartial+10)
	}
}

// TestTaggedConcurrentLinesStayWhole has many writers, each fed in small
// uneven chunks as a pipe would deliver them, print through one Narrator
// at once, with From calls mixed in. Every printed line must be one that
// was written, whole, and each exactly once. Run it with -race.
func TestTaggedConcurrentLinesStayWhole(t *testing.T) {
	var buf bytes.Buffer
	n := New(&buf)
	const writers, lines = 8, 200
	want := map[string]int{}
	for id := range writers {
		for i := range lines {
			want[fmt.Sprintf("  [worker %d] line %d of worker %d", 100+id, i, id)]++
			want[fmt.Sprintf("  [master] note %d about %d", i, id)]++
		}
	}

	var wg sync.WaitGroup
	for id := range writers {
		w := n.Tagged("worker", 100+id)
		var all strings.Builder
		for i := range lines {
			fmt.Fprintf(&all, "line %d of worker %d\n", i, id)
		}
		wg.Go(func() {
			s := all.String()
			for chunk := 1 + id; len(s) > 0; chunk = chunk%7 + 1 {
				k := min(chunk, len(s))
				io.WriteString(w, s[:k])
				s = s[k:]
			}
		})
		wg.Go(func() {
			for i := range lines {
				n.From("master", 0, "note %d about %d", i, id)
			}
		})
	}
	wg.Wait()

	got := map[string]int{}
	for _, l := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		got[l]++
	}
	for l, c := range got {
		if want[l] != c {
			t.Errorf("line %q printed %d times, want %d", l, c, want[l])
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d distinct lines printed, want %d", len(got), len(want))
	}
}

// TestTaggedSharedByTwoWriters uses one LineWriter from two goroutines,
// as os/exec does when a child's Stdout and Stderr are the same writer.
func TestTaggedSharedByTwoWriters(t *testing.T) {
	var buf bytes.Buffer
	w := New(&buf).Tagged("php", 5)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for range 100 {
				io.WriteString(w, "whole line\n")
			}
		})
	}
	wg.Wait()
	if got, want := buf.String(), strings.Repeat("  [php 5] whole line\n", 200); got != want {
		t.Errorf("shared writer printed %d bytes, want %d; lines were split", len(got), len(want))
	}
}
