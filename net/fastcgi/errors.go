package fastcgi

import (
	"errors"
	"fmt"
)

// ProtocolError is malformed input from a peer: a bad version, a truncated
// record, garbage, a record where the protocol does not allow one. The
// connection it came on cannot be trusted any more and is closed; nothing
// else is affected.
type ProtocolError struct {
	Peer string // who sent it, e.g. "127.0.0.1:51012"
	What string // what was wrong, e.g. "version 2, want 1"
	Err  error  // the underlying cause, if any (io.ErrUnexpectedEOF, ...)
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("fastcgi: record from %s: %s", e.Peer, e.What)
}

func (e *ProtocolError) Unwrap() error { return e.Err }

// LimitError is a request over one of the configured limits (Config): the
// connection is closed without running the script, as a guard against a
// peer that sends without end.
type LimitError struct {
	Peer  string // who sent it
	What  string // "params" or "stdin"
	Limit int    // the limit in bytes
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("fastcgi: request from %s: %s over the limit of %d bytes", e.Peer, e.What, e.Limit)
}

// Is lets errors.Is(err, ErrTooLarge) match any LimitError.
func (e *LimitError) Is(target error) bool { return target == ErrTooLarge }

// ErrTooLarge matches every LimitError.
var ErrTooLarge = errors.New("fastcgi: request too large")
