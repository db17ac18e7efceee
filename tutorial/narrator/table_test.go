package narrator

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestTableAlignment(t *testing.T) {
	var buf bytes.Buffer
	n := New(&buf)
	tb := n.Table("workers", "mode", "p50", "req/s")
	tb.Row(1, "fork", 2310*time.Microsecond, 432.1)
	tb.Row(16, "coroutine", 612345*time.Nanosecond, 1633.987)
	tb.Print()
	want := "" +
		"  workers  mode          p50    req/s\n" +
		"  ───────  ─────────  ──────  ───────\n" +
		"        1  fork       2.31ms   432.10\n" +
		"       16  coroutine   612µs  1633.99\n"
	if got := buf.String(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}

// status is a numeric type that prints as words: a column of it is text.
type status int

func (s status) String() string { return [...]string{"idle", "busy"}[s] }

func TestTableTextColumnsAndShortRows(t *testing.T) {
	var buf bytes.Buffer
	n := New(&buf)
	tb := n.Table("pid", "state", "note")
	tb.Row(4211, status(1), "accepting")
	tb.Row(4212, status(0))
	tb.Row("n/a", status(0), "gone")
	tb.Print()
	want := "" +
		"  pid   state  note\n" +
		"  ────  ─────  ─────────\n" +
		"  4211  busy   accepting\n" +
		"  4212  idle\n" +
		"  n/a   idle   gone\n"
	if got := buf.String(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}

func TestTableColorKeepsNoTrailingBlanks(t *testing.T) {
	var buf bytes.Buffer
	n := New(&buf)
	n.SetColor(true)
	tb := n.Table("name", "x")
	tb.Row("a long name", "y")
	tb.Print()
	want := "" +
		"\x1b[1m  name         x\x1b[0m\n" +
		"\x1b[2m  ───────────  ─\x1b[0m\n" +
		"  a long name  y\n"
	if got := buf.String(); got != want {
		t.Errorf("table:\n%q\nwant:\n%q", got, want)
	}
}

func TestFormatCell(t *testing.T) {
	for _, tc := range []struct {
		in     any
		text   string
		number bool
	}{
		{42, "42", true},
		{uint8(7), "7", true},
		{3.14159, "3.14", true},
		{float32(0.5), "0.50", true},
		{0.0, "0.00", true},
		{0.000123456, "0.000123", true},
		{-2.5, "-2.50", true},
		{1234567 * time.Nanosecond, "1.23ms", true},
		{123456 * time.Nanosecond, "123µs", true},
		{999 * time.Nanosecond, "999ns", true},
		{1500 * time.Millisecond, "1.5s", true},
		{-2345 * time.Microsecond, "-2.35ms", true},
		{"text", "text", false},
		{status(1), "busy", false},
		{nil, "<nil>", false},
		{true, "true", false},
	} {
		c := formatCell(tc.in)
		if c.text != tc.text || c.number != tc.number {
			t.Errorf("formatCell(%#v) = %q number=%v, want %q number=%v", tc.in, c.text, c.number, tc.text, tc.number)
		}
	}
}

func TestTableRowWithTooManyCellsPanics(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), "3 cells, the table has 2 columns") {
			t.Errorf("recovered %v, want a panic naming 3 cells and 2 columns", r)
		}
	}()
	New(&bytes.Buffer{}).Table("a", "b").Row(1, 2, 3)
}
