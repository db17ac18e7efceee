package coro

import "time"

// tokenState is where a Token is in its one use.
type tokenState int

const (
	tokenArmed   tokenState = iota // Park returned it; Wait not yet called
	tokenEarly                     // Resume came before Wait
	tokenWaiting                   // the coroutine is suspended in Wait
	tokenDone                      // used: resumed, timed out or canceled
)

// Token is one parked wait of a coroutine on something outside the
// scheduler, such as an fd's readiness: the seam between the scheduler
// and an event loop. Park, hand the token to the event source, Wait; the
// source calls Resume (or Post) once. A Token is used once.
type Token struct {
	c      *Co
	reason string
	state  tokenState
	val    any
	// w is the wait Wait suspends on, kept here so that a Token reused
	// through Repark costs no allocation per wait.
	w wait
}

// ANCHOR: park
// Park prepares c to wait on an external event described by reason ("read
// fd 7"). Nothing is suspended until Token.Wait, so that c can register
// the token with the event source first.
func (c *Co) Park(reason string) *Token {
	c.mustRun("Park")
	return &Token{c: c, reason: reason}
}

// Wait suspends the coroutine until Resume or Post, and returns the value
// given there; or it fails with ErrTimeout or the *CanceledError. On
// failure the event source may still hold the token: deregister it
// (Resume on a used token does nothing).
func (t *Token) Wait(timeout time.Duration) (any, error) {
	t.c.mustRun("Token.Wait")
	if t.state == tokenEarly {
		t.state = tokenDone
		return t.val, nil
	}
	if t.state != tokenArmed {
		panic("coro: Token.Wait on a used token")
	}
	t.state = tokenWaiting
	t.c.s.parked++
	t.w = wait{op: "park:", on: t, token: t}
	if err := t.c.suspend(&t.w, timeout); err != nil {
		if t.state == tokenWaiting { // suspend refused at once: undo
			t.state = tokenDone
			t.c.s.parked--
		}
		return nil, err
	}
	return t.val, nil
}

// Resume wakes the parked coroutine with v, on the scheduler's thread
// (from a coroutine, or from the run loop: an Idler's dispatch, a timer,
// a posted function). It reports false if the token was used already.
func (t *Token) Resume(v any) bool {
	switch t.state {
	case tokenArmed:
		t.state, t.val = tokenEarly, v
		return true
	case tokenWaiting:
		t.val = v
		t.c.s.wake(t.c, nil)
		return true
	}
	return false
}

// Post is Resume from any goroutine: it queues the resumption for the
// scheduler's run loop and wakes the loop.
func (t *Token) Post(v any) {
	t.c.s.Post(func() { t.Resume(v) })
}

// ANCHOR_END: park

// Repark is Park reusing t, a token from an earlier Park or Repark whose
// wait has ended and that nothing will Resume any more: for an event
// source that parks on the same thing again and again, such as a hooked
// fd's reads, so that a wait allocates nothing.
func (c *Co) Repark(t *Token, reason string) *Token {
	c.mustRun("Park")
	*t = Token{c: c, reason: reason}
	return t
}

func (t *Token) describe() string { return t.reason }
