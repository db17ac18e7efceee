// Package coro is the coroutine runtime: one scheduler per thread that runs
// one coroutine at a time, with Swoole's concepts in Go's idiom.
//
// # The model
//
// A Scheduler owns a set of coroutines and one OS thread (Run locks it).
// Exactly one coroutine runs at a time; it runs until it suspends (Yield,
// Sleep, a Chan operation that cannot complete, Join, WaitGroup.Wait, a
// Park) or exits. Nothing preempts it: a coroutine that makes a plain
// blocking call (time.Sleep, a blocking read(2)) stalls every other
// coroutine of its scheduler, exactly as in Swoole.
//
// Each coroutine is an iter.Pull coroutine: the runtime's coroutine switch
// hands the thread straight from one goroutine to another without going
// through Go's run queue. Resuming a coroutine is a call to its next
// function; suspending is a call to its yield, which returns to whoever
// resumed it (Swoole's "origin"). The goroutine outlives its coroutine:
// when one exits, its goroutine carries the next that Go creates, so a
// server with a coroutine per request pays for a goroutine, and for
// growing its stack, once and not per request. The order of execution is
// a strict handoff, fixed by the program and not by a scheduler's whim:
//
//	s.Run(func(c *coro.Co) {
//		c.Go(func(c *coro.Co) { say("a"); c.Sleep(time.Millisecond); say("b") })
//		say("c")
//		c.Go(func(c *coro.Co) { say("d") })
//		say("e")
//	})
//	// a c d e b, every time
//
// Go runs the new coroutine at once, until it suspends or exits, then
// returns to the creator (Swoole's go()). A Chan operation that wakes a
// waiting coroutine resumes it at once, and the waker continues when it
// suspends (Swoole's Channel). Timers, and events from outside, resume
// coroutines from the run loop.
//
// # The API
//
//   - Scheduler.Run(main), Scheduler.Go / Co.Go: create; the coroutine
//     function receives its own *Co, the handle every blocking operation
//     takes, as Go passes a context.Context.
//   - Co.Yield and Scheduler.Resume: explicit suspension and resumption.
//   - Co.ID and Co.ParentID: ids count from 1 per scheduler; parent 0
//     means created from the run loop, not by a coroutine.
//   - Co.Context: per-coroutine storage, dropped when the coroutine exits,
//     so per-request state does not leak between requests.
//   - Co.Defer: functions run when the coroutine exits, last in first
//     out, even after a panic. Unlike Go's defer, which belongs to a
//     function call, a Defer made in a helper runs when the coroutine ends.
//   - Co.Sleep: on the scheduler's timer heap; when no coroutine can run,
//     the run loop sleeps until the next timer.
//   - Co.Cancel(reason): the coroutine's current and every later blocking
//     operation fail with a *CanceledError carrying the reason.
//   - Co.Join(other, timeout): wait for another coroutine to exit.
//   - Chan: a channel with a capacity (0 is a rendezvous), Push and Pop with
//     timeouts, Close. Its errors are Swoole's error codes: ErrTimeout
//     (SWOOLE_CHANNEL_TIMEOUT), ErrClosed (SWOOLE_CHANNEL_CLOSED), and
//     ErrCanceled (SWOOLE_CHANNEL_CANCELED).
//   - WaitGroup, and Barrier: a WaitGroup tied to coroutine exit, which
//     cannot be left waiting by a forgotten Done.
//   - Stats: live coroutines, their peak, switches, panics.
//
// A timeout of Forever waits without limit; 0 does not wait at all (the
// operation completes now or fails with ErrTimeout).
//
// Limits and failures are reported, not hidden: creating more than
// Options.MaxCoroutines fails with ErrTooMany; a panic in a coroutine is
// reported with its stack (Options.OnPanic) and ends that coroutine only;
// and when every coroutine is suspended with no timer, no parked external
// wait and no posted work that could wake one, Run returns a
// *DeadlockError naming each coroutine, what it waits on and its stack,
// instead of hanging.
//
// # The seam for IO
//
// The scheduler knows nothing of file descriptors. An event source such as
// a reactor works with it through two things:
//
//   - Co.Park(reason) returns a *Token before the coroutine suspends; the
//     coroutine hands the token to the event source (say, with the fd it
//     waits on) and calls Token.Wait, which suspends it. The event source
//     calls Token.Resume(value) on the scheduler's thread, or Token.Post
//     from any goroutine: that queues the resumption, thread-safely, for
//     the run loop to drain. A parked coroutine counts as waiting on
//     something external, so it is never reported as deadlocked.
//   - Options.Idler is how the run loop waits when no coroutine can run:
//     Idle(deadline) blocks until the next timer or until Wake is called
//     (by Post). The default blocks on a Go timer; a reactor's Idle will be
//     epoll_wait with the timeout to that deadline, dispatching ready fds
//     (whose callbacks call Token.Resume: Idle runs on the scheduler's
//     thread), and its Wake an eventfd write.
//
// # Hooked IO
//
// Poller is that Idler: epoll_wait until the next timer, eventfd wake-ups.
// On it, IO that looks blocking to a coroutine parks it instead of the
// thread: Conn (Read, Write, ReadNow, deadlines) over any non-blocking fd,
// Listener.Accept, Dial, HTTPClient (HTTP/1.1 with a keep-alive pool),
// Exec (pipes and a pidfd) and LookupHost (a goroutine that posts back).
//
// A Scheduler is not safe for concurrent use: everything but Post and
// Token.Post must be called on its thread, from its coroutines or from
// callbacks its run loop makes (timers, posted functions, Idle).
package coro
