package config

import (
	"errors"
	"fmt"
)

// Error is one problem in a configuration, located the way php-fpm locates
// it: the file, the line, and the pool when the problem is a pool's.
//
//	fpm.conf:12: unknown entry 'pm.max_chilren'
//	pool.d/www.conf:7: [www] pm.max_children must be a positive value
//
// Load and Parse return every Error they found, joined with errors.Join so
// that printing the error prints one problem a line.
type Error struct {
	// File is the file as it was named: the path given to Load, or the
	// include pattern's directory joined with the matched name.
	File string
	// Line is 1-based; 0 when the problem concerns the whole file (it cannot
	// be read, or it defines no pool).
	Line int
	// Pool names the pool whose settings conflict, for checks that look at
	// several directives at once; empty for a problem of one line.
	Pool string
	// Msg says what is wrong, in php-fpm's words where php-fpm has some.
	Msg string
	// Err is the underlying cause, if any (fs.ErrNotExist, ...).
	Err error
}

func (e *Error) Error() string {
	where := e.File
	if e.Line > 0 {
		where = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Pool != "" {
		return fmt.Sprintf("%s: [%s] %s", where, e.Pool, e.Msg)
	}
	return fmt.Sprintf("%s: %s", where, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrNoPool matches the error of a configuration without any pool: php-fpm
// refuses to start with nothing to serve, and so does corofpm.
var ErrNoPool = errors.New("no pool defined")

// Errors lists the problems in an error returned by Load or Parse, in the
// order they were found; nil for nil.
func Errors(err error) []*Error {
	var list []*Error
	var walk func(error)
	walk = func(err error) {
		var e *Error
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, err := range j.Unwrap() {
				walk(err)
			}
		} else if errors.As(err, &e) {
			list = append(list, e)
		}
	}
	walk(err)
	return list
}
