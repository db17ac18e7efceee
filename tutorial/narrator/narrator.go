// Package narrator is the voice every chapter speaks with: a title, numbered
// steps, indented prose, lines tagged with the process that wrote them,
// aligned tables of measured figures, and the closing one-sentence lesson.
//
// A chapter's output is read by a person at a terminal and is also captured
// into the book, so it is plain text first. Colour is added only when the
// output is a terminal and the reader has not set NO_COLOR
// (https://no-color.org); no escape sequence ever reaches a file, a pipe or
// a test's buffer.
//
// A run reads like this:
//
//	Chapter 01 · FastCGI: one worker, one request at a time
//	───────────────────────────────────────────────────────
//
//	Step 1  Listen on a socket
//	  The master opens 127.0.0.1:9000 before it forks.
//	  [worker 4211] accepted fd 7
//
//	Lesson: one worker serves one request at a time.
package narrator

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/mattn/go-isatty"
)

// ANSI escapes, the only ones we use. Plain SGR codes work in every
// terminal a student is likely to run, so we need no terminfo library.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
)

// roleColors are the colours a process tag may take. A role always gets the
// same one (see roleColor), so the eye follows "worker" lines through a run.
// Green and yellow are left out: they mean "lesson" and "warning".
var roleColors = []string{
	"\x1b[36m", // cyan
	"\x1b[35m", // magenta
	"\x1b[34m", // blue
	"\x1b[96m", // bright cyan
	"\x1b[95m", // bright magenta
	"\x1b[94m", // bright blue
}

// Narrator writes a chapter's narration to one writer. It is safe for
// concurrent use: every call writes whole lines under one lock, so lines
// from goroutines that copy child processes' pipes interleave only at line
// boundaries.
type Narrator struct {
	// mu serialises writes to w and guards the fields below, so that two
	// goroutines can never split each other's lines.
	mu sync.Mutex
	// w is where the narration goes, usually os.Stdout.
	w io.Writer
	// color says whether to wrap text in ANSI escapes. New decides it once:
	// whether w is a terminal does not change during a run.
	color bool
	// verbose lets Detail lines through. Chapters keep their default output
	// short and let -v show the mechanics underneath.
	verbose bool
	// step is the number of the last Step printed, so that no chapter
	// numbers its steps by hand and none goes out of order when one is added.
	step int
}

// New returns a Narrator that writes to w. It uses colour if and only if w
// is an *os.File open on a terminal and the environment variable NO_COLOR
// is unset or empty.
func New(w io.Writer) *Narrator {
	f, ok := w.(*os.File)
	tty := ok && isatty.IsTerminal(f.Fd())
	return &Narrator{w: w, color: wantColor(tty, os.Getenv("NO_COLOR"))}
}

// wantColor is New's rule, apart so that a test can check every case
// without a terminal: colour needs a terminal, and any non-empty NO_COLOR
// turns it off, as https://no-color.org asks.
func wantColor(tty bool, noColor string) bool {
	return tty && noColor == ""
}

// SetColor forces colour on or off, overriding New's choice. It exists for
// tests and for a chapter that knows better (say, one writing a log file).
func (n *Narrator) SetColor(on bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.color = on
}

// Color reports whether the Narrator writes ANSI escapes.
func (n *Narrator) Color() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.color
}

// SetVerbose turns Detail lines on or off; chapters wire it to -v.
func (n *Narrator) SetVerbose(v bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.verbose = v
}

// Verbose reports whether Detail lines are printed, for a chapter that
// would otherwise compute an expensive detail for nothing.
func (n *Narrator) Verbose() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.verbose
}

// Title prints the chapter's banner and a rule as wide as it:
//
//	Chapter 01 · FastCGI: one worker, one request at a time
//	───────────────────────────────────────────────────────
func (n *Narrator) Title(chapter, title string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	banner := title
	if chapter != "" {
		banner = "Chapter " + chapter + " · " + title
	}
	rule := strings.Repeat("─", utf8.RuneCountInString(banner))
	n.write(n.paint(ansiBold, banner) + "\n" + n.paint(ansiDim, rule) + "\n")
}

// Step prints the next numbered step after a blank line, so that steps
// stand apart from the prose under them:
//
//	Step 1  Listen on a socket
func (n *Narrator) Step(format string, args ...any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.step++
	head := fmt.Sprintf("Step %d  ", n.step)
	text := indent(head, strings.Repeat(" ", len(head)), fmt.Sprintf(format, args...))
	n.write("\n" + n.paintLines(ansiBold, text))
}

// Say prints prose, indented two spaces under the current step. A message
// of several lines is indented line by line.
func (n *Narrator) Say(format string, args ...any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.write(indent("  ", "  ", fmt.Sprintf(format, args...)))
}

// Detail is Say for what only a curious reader wants (a syscall's
// arguments, a record's bytes): printed only when verbose, dimmed with
// colour so the main line of the story still stands out.
func (n *Narrator) Detail(format string, args ...any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.verbose {
		return
	}
	n.write(n.paintLines(ansiDim, indent("  ", "  ", fmt.Sprintf(format, args...))))
}

// Warn prints something the reader must not miss, such as a measurement
// that could not be taken here, in yellow with colour:
//
//	Warning: SO_REUSEPORT is not available; one listener is shared.
func (n *Narrator) Warn(format string, args ...any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	text := indent("  Warning: ", "           ", fmt.Sprintf(format, args...))
	n.write(n.paintLines(ansiYellow, text))
}

// From prints a line as said by a process, tagged with its role and pid,
// so the reader sees which process did what:
//
//	[worker 4211] accepted fd 7
//
// A pid of zero or less leaves the pid out ("[client]"), for roles played
// by goroutines of the chapter itself.
func (n *Narrator) From(role string, pid int, format string, args ...any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.write(n.fromLines(role, pid, fmt.Sprintf(format, args...)))
}

// Lesson prints the chapter's closing sentence, set apart by a blank line,
// in bold green with colour:
//
//	Lesson: one worker serves one request at a time.
func (n *Narrator) Lesson(format string, args ...any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	text := indent("Lesson: ", "        ", fmt.Sprintf(format, args...))
	n.write("\n" + n.paintLines(ansiBold+ansiGreen, text))
}

// fromLines formats text as From lines; the caller holds n.mu. A trailing
// carriage return is dropped, for children that end lines with "\r\n".
func (n *Narrator) fromLines(role string, pid int, text string) string {
	tag := "[" + role + "]"
	if pid > 0 {
		tag = fmt.Sprintf("[%s %d]", role, pid)
	}
	tag = "  " + n.paint(roleColor(role), tag)
	var b strings.Builder
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSuffix(line, "\r")
		b.WriteString(tag)
		if line != "" {
			b.WriteString(" " + line)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// write sends s to w; the caller holds n.mu. A write error is dropped on
// purpose: narration is a side channel, and a chapter whose reader closed
// the pipe (| head) should still finish and clean up its processes.
func (n *Narrator) write(s string) {
	_, _ = io.WriteString(n.w, s)
}

// paint wraps s in an ANSI code when colour is on, and returns s untouched
// otherwise; it never paints an empty string.
func (n *Narrator) paint(code, s string) string {
	if !n.color || s == "" {
		return s
	}
	return code + s + ansiReset
}

// paintLines paints each line of text on its own, so that a reset always
// comes before the newline and a line read alone is never left coloured.
func (n *Narrator) paintLines(code, text string) string {
	if !n.color {
		return text
	}
	lines := strings.SplitAfter(text, "\n")
	for i, l := range lines {
		body := strings.TrimSuffix(l, "\n")
		lines[i] = n.paint(code, body) + l[len(body):]
	}
	return strings.Join(lines, "")
}

// indent prefixes the first line of text with first and every later line
// with rest, and ends each line with a newline. Trailing blanks are trimmed
// and empty lines stay empty, so the output carries no stray spaces into
// the book.
func indent(first, rest, text string) string {
	var b strings.Builder
	for i, line := range strings.Split(text, "\n") {
		prefix := rest
		if i == 0 {
			prefix = first
		}
		b.WriteString(strings.TrimRight(prefix+line, " "))
		b.WriteString("\n")
	}
	return b.String()
}

// roleColor picks a role's colour by hashing its name, so a role keeps its
// colour across runs and chapters without a registry of roles.
func roleColor(role string) string {
	h := fnv.New32a()
	h.Write([]byte(role))
	return roleColors[h.Sum32()%uint32(len(roleColors))]
}

// maxPartial bounds the partial line a tagged writer holds. A child that
// writes megabytes without a newline is shown in pieces rather than held
// in memory until it exits.
const maxPartial = 64 << 10

// Tagged returns a writer that prints every complete line written to it as
// From(role, pid, line) would. It holds a partial line until its '\n'
// arrives, so a child's line split across two reads of its pipe is still
// printed as one. Set it as an exec.Cmd's Stdout or Stderr to show what a
// child prints, tagged with its pid.
//
// The writer is a *LineWriter: call its Flush or Close once the child has
// exited to print a last line that had no newline.
func (n *Narrator) Tagged(role string, pid int) io.Writer {
	return &LineWriter{n: n, role: role, pid: pid}
}

// LineWriter is the writer Tagged returns. It is safe for concurrent use,
// so one may serve as both Stdout and Stderr of a child.
type LineWriter struct {
	// n is the Narrator whose lock keeps each line whole on the way out.
	n *Narrator
	// role names the process in the tag, as in From: "worker", "master".
	role string
	// pid tells apart processes of one role; zero or less leaves it out.
	pid int
	// mu guards buf, since os/exec may copy Stdout and Stderr from two
	// goroutines at once.
	mu sync.Mutex
	// buf holds the bytes after the last newline: a line not yet finished.
	buf []byte
}

// Write prints the complete lines in p, with what was held before them,
// and holds the rest. It never fails: see Narrator.write.
func (lw *LineWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.buf = append(lw.buf, p...)
	end := bytes.LastIndexByte(lw.buf, '\n')
	if end < 0 && len(lw.buf) < maxPartial {
		return len(p), nil
	}
	if end < 0 {
		end = len(lw.buf) // too long to hold: show it as a line of its own
	}
	lw.emit(string(lw.buf[:end]))
	lw.buf = append(lw.buf[:0], lw.buf[min(end+1, len(lw.buf)):]...)
	return len(p), nil
}

// Flush prints a held partial line, if any, as a line of its own.
func (lw *LineWriter) Flush() error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if len(lw.buf) > 0 {
		lw.emit(string(lw.buf))
		lw.buf = lw.buf[:0]
	}
	return nil
}

// Close flushes; the LineWriter stays usable, since it owns no resource.
func (lw *LineWriter) Close() error {
	return lw.Flush()
}

// emit prints text, one or more lines without their final newline, under
// the Narrator's lock, as one write.
func (lw *LineWriter) emit(text string) {
	lw.n.mu.Lock()
	defer lw.n.mu.Unlock()
	lw.n.write(lw.n.fromLines(lw.role, lw.pid, text))
}
