package fpm

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Level is a log level, in php-fpm's order: a logger set to a level writes
// that level and every more severe one.
type Level int

const (
	Debug Level = iota
	Notice
	Warning
	Error
	Alert
)

var levelNames = [...]string{"DEBUG", "NOTICE", "WARNING", "ERROR", "ALERT"}

func (l Level) String() string { return levelNames[l] }

// ParseLevel reads a log_level value: alert, error, warning, notice, debug.
func ParseLevel(s string) (Level, error) {
	for l, name := range levelNames {
		if strings.EqualFold(s, name) {
			return Level(l), nil
		}
	}
	return Notice, fmt.Errorf("unknown log level %q (alert, error, warning, notice or debug)", s)
}

// Log writes the master's error_log the way php-fpm does, so that operators'
// habits (and their grep patterns) carry over:
//
//	[25-Nov-2026 10:15:00] NOTICE: fpm is running, pid 4242
//	[25-Nov-2026 10:15:03] WARNING: [pool www] child 4250 exited on signal 9 (SIGKILL) after 3.010000 seconds from start
//
// It is safe for concurrent use. Reopen, for SIGUSR1, closes the file and
// opens the same path again, so that logrotate can move the old one away.
type Log struct {
	mu    sync.Mutex
	path  string // "" when writing to w given by the caller
	w     io.Writer
	file  *os.File
	level Level
	// now is the clock, replaced in tests.
	now func() time.Time
}

// NewLog logs to w (stderr when the FPM runs in the foreground).
func NewLog(w io.Writer, level Level) *Log {
	return &Log{w: w, level: level, now: time.Now}
}

// OpenLog logs to the file at path, appending, created 0644 if missing.
func OpenLog(path string, level Level) (*Log, error) {
	l := &Log{path: path, level: level, now: time.Now}
	if err := l.Reopen(); err != nil {
		return nil, err
	}
	return l, nil
}

// Reopen opens the log file again (SIGUSR1); a Log writing to a plain
// writer has nothing to reopen.
func (l *Log) Reopen() error {
	if l.path == "" {
		return nil
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("failed to open error_log (%s): %w", l.path, err)
	}
	l.mu.Lock()
	old := l.file
	l.file, l.w = f, f
	l.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

// Close closes the log file, if the Log opened one.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file == nil {
		return nil
	}
	err := l.file.Close()
	l.file, l.w = nil, io.Discard
	return err
}

// Printf writes one line at the level, if the level is enabled.
func (l *Log) Printf(level Level, format string, args ...any) {
	if level < l.level {
		return
	}
	line := fmt.Sprintf("[%s] %s: %s\n", l.now().Format("02-Jan-2006 15:04:05"), level, fmt.Sprintf(format, args...))
	l.mu.Lock()
	defer l.mu.Unlock()
	io.WriteString(l.w, line)
}

// Pool returns a function that logs for one pool, with php-fpm's
// "[pool www] " prefix.
func (l *Log) Pool(name string) func(level Level, format string, args ...any) {
	return func(level Level, format string, args ...any) {
		l.Printf(level, "[pool %s] %s", name, fmt.Sprintf(format, args...))
	}
}
