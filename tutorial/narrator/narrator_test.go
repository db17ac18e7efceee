package narrator

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// narrate runs a little of every kind of line, so that the tests below
// check the same story with colour off and on.
func narrate(n *Narrator) {
	n.Title("01", "FastCGI")
	n.Step("Listen on a socket")
	n.Say("The master opens %s.", "127.0.0.1:9000")
	n.Detail("fd %d", 3)
	n.Warn("no %s here", "SO_REUSEPORT")
	n.From("worker", 4211, "accepted fd %d", 7)
	n.From("client", 0, "sent request %d", 1)
	n.Lesson("one worker serves one request at a time.")
}

// wantPlain is narrate's output with colour off and verbose on.
const wantPlain = `Chapter 01 · FastCGI
────────────────────

Step 1  Listen on a socket
  The master opens 127.0.0.1:9000.
  fd 3
  Warning: no SO_REUSEPORT here
  [worker 4211] accepted fd 7
  [client] sent request 1

Lesson: one worker serves one request at a time.
`

func TestPlainOutputIsExact(t *testing.T) {
	var buf bytes.Buffer
	n := New(&buf)
	n.SetVerbose(true)
	narrate(n)
	if got := buf.String(); got != wantPlain {
		t.Errorf("output:\n%s\nwant:\n%s", got, wantPlain)
	}
}

func TestNoColorForBuffer(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	var buf bytes.Buffer
	n := New(&buf)
	if n.Color() {
		t.Fatal("New(*bytes.Buffer) chose colour; a buffer is not a terminal")
	}
	n.SetVerbose(true)
	narrate(n)
	tb := n.Table("a", "b")
	tb.Row(1, "x")
	tb.Print()
	n.Tagged("php", 9).Write([]byte("hello\n"))
	if strings.Contains(buf.String(), "\x1b") {
		t.Errorf("escape sequence in colourless output: %q", buf.String())
	}
}

func TestNoColorForPipe(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if New(w).Color() {
		t.Error("New(pipe) chose colour; a pipe is not a terminal")
	}
}

// TestColorOnTerminalUnlessNoColor opens a pseudo-terminal's master side,
// which is a real terminal to isatty, to check New's rule end to end.
func TestColorOnTerminalUnlessNoColor(t *testing.T) {
	tty, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal to test with: %v", err)
	}
	defer tty.Close()
	t.Setenv("NO_COLOR", "")
	if !New(tty).Color() {
		t.Skip("/dev/ptmx is not a terminal to isatty here")
	}
	t.Setenv("NO_COLOR", "1")
	if New(tty).Color() {
		t.Error("New(terminal) chose colour with NO_COLOR=1")
	}
}

func TestWantColor(t *testing.T) {
	for _, tc := range []struct {
		tty     bool
		noColor string
		want    bool
	}{
		{tty: true, noColor: "", want: true},
		{tty: true, noColor: "1", want: false},
		{tty: true, noColor: "0", want: false}, // any non-empty value, says no-color.org
		{tty: false, noColor: "", want: false},
		{tty: false, noColor: "1", want: false},
	} {
		if got := wantColor(tc.tty, tc.noColor); got != tc.want {
			t.Errorf("wantColor(tty=%v, NO_COLOR=%q) = %v, want %v", tc.tty, tc.noColor, got, tc.want)
		}
	}
}

func TestColorOutput(t *testing.T) {
	var buf bytes.Buffer
	n := New(&buf)
	n.SetColor(true)
	n.SetVerbose(true)
	narrate(n)
	out := buf.String()
	for _, want := range []string{
		"\x1b[1mChapter 01 · FastCGI\x1b[0m\n",
		"\n\x1b[1mStep 1  Listen on a socket\x1b[0m\n",
		"  The master opens 127.0.0.1:9000.\n", // prose stays plain
		"\x1b[2m  fd 3\x1b[0m\n",
		"\x1b[33m  Warning: no SO_REUSEPORT here\x1b[0m\n",
		"  " + roleColor("worker") + "[worker 4211]\x1b[0m accepted fd 7\n",
		"\n\x1b[1m\x1b[32mLesson: one worker serves one request at a time.\x1b[0m\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("colour output lacks %q; got:\n%q", want, out)
		}
	}
	// Stripped of its escapes, the output is the plain one.
	if plain := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(out, ""); plain != wantPlain {
		t.Errorf("colour output without escapes:\n%s\nwant:\n%s", plain, wantPlain)
	}
}

func TestStepNumbering(t *testing.T) {
	var buf bytes.Buffer
	n := New(&buf)
	n.Step("Listen on a socket")
	n.Say("between")
	n.Step("Fork %d workers", 4)
	n.Step("Measure")
	want := "\nStep 1  Listen on a socket\n  between\n\nStep 2  Fork 4 workers\n\nStep 3  Measure\n"
	if got := buf.String(); got != want {
		t.Errorf("steps:\n%q\nwant:\n%q", got, want)
	}
}

func TestStepNumbersAreUniqueUnderConcurrency(t *testing.T) {
	var buf bytes.Buffer
	n := New(&buf)
	const steps = 50
	var wg sync.WaitGroup
	for range steps {
		wg.Go(func() { n.Step("s") })
	}
	wg.Wait()
	for i := 1; i <= steps; i++ {
		if c := strings.Count(buf.String(), fmt.Sprintf("Step %d  s\n", i)); c != 1 {
			t.Errorf("Step %d printed %d times, want once", i, c)
		}
	}
}

func TestDetailOnlyWhenVerbose(t *testing.T) {
	var buf bytes.Buffer
	n := New(&buf)
	n.Detail("hidden")
	if buf.Len() != 0 {
		t.Fatalf("Detail printed %q while not verbose", buf.String())
	}
	n.SetVerbose(true)
	n.Detail("shown")
	if got, want := buf.String(), "  shown\n"; got != want {
		t.Errorf("verbose Detail printed %q, want %q", got, want)
	}
}

func TestMultiLineMessagesAreIndented(t *testing.T) {
	var buf bytes.Buffer
	n := New(&buf)
	n.Say("first\n\nthird")
	n.Warn("a\nb")
	n.From("worker", 7, "x\ny")
	want := "  first\n\n  third\n" +
		"  Warning: a\n           b\n" +
		"  [worker 7] x\n  [worker 7] y\n"
	if got := buf.String(); got != want {
		t.Errorf("output:\n%q\nwant:\n%q", got, want)
	}
}

func TestRoleColorIsStable(t *testing.T) {
	if roleColor("worker") != roleColor("worker") {
		t.Error("one role got two colours")
	}
	for _, c := range []string{roleColor("worker"), roleColor("master"), roleColor("client")} {
		if c == ansiGreen || c == ansiYellow {
			t.Errorf("role colour %q is reserved for lessons or warnings", c)
		}
	}
}
