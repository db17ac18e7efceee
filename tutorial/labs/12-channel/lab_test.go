package lab12

// This is the grader of lab 12. Run it with
//
//	make lab N=12        (or: go test ./tutorial/labs/12-channel -run Lab12 -v)
//
// Edit lab.go, not this file: the original is used for grading. Every test
// runs coroutines on a coro.Scheduler and records what they do, in order:
// the order is fixed by the program, so the grader checks it exactly.

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/corofpm/corofpm/coro"
)

// trace records what the coroutines did, in order. They all run on the
// scheduler's one thread, one at a time: no lock is needed.
type trace []string

func (tr *trace) say(format string, args ...any) { *tr = append(*tr, fmt.Sprintf(format, args...)) }
func (tr trace) String() string                  { return strings.Join(tr, ", ") }

// check compares the recorded order with the expected one.
func (tr trace) check(t *testing.T, want, why string) {
	t.Helper()
	if got := tr.String(); got != want {
		t.Errorf("order of execution:\n got: %s\nwant: %s\n%s", got, want, why)
	}
}

// run runs main as the first coroutine of a new scheduler and waits for
// every coroutine to end. A coroutine parked in your Chan and never
// resumed keeps the scheduler running for ever (a Park is an external
// wait, never reported as a deadlock), so after 5 s run cancels whatever
// is left, names it, and fails the test.
func run(t *testing.T, main func(c *coro.Co)) {
	t.Helper()
	s := coro.New(coro.Options{OnPanic: func(e *coro.PanicError) {
		t.Errorf("coroutine %d panicked: %v\n%s", e.ID, e.Value, e.Stack)
	}})
	done := make(chan error, 1)
	go func() { done <- s.Run(main) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the scheduler reported: %v", err)
		}
		return
	case <-time.After(5 * time.Second):
	}
	stuck := make(chan []int64, 1)
	s.Post(func() {
		var ids []int64
		for id := range s.Stats().Created {
			if c := s.Lookup(id + 1); c != nil {
				ids = append(ids, c.ID())
				c.Cancel(errors.New("the grader gave up on it"))
			}
		}
		stuck <- ids
	})
	ids := <-stuck
	t.Errorf("coroutines %v still waiting after 5 s, canceled now: a waiter in your Chan was never resumed (was its value, or its Resume, given to a waiter that had already been served or had given up?)", ids)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("the coroutines did not end 5 s after their cancel: does a Push or Pop retry for ever after Wait failed?")
	}
}

// isErr reports a failure unless err is target.
func isErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

// A Push that finds a consumer waiting resumes it at once: the consumer
// runs before Push returns.
func TestLab12HandoffOrder(t *testing.T) {
	var tr trace
	run(t, func(c *coro.Co) {
		ch := NewChan[int](1)
		c.Go(func(c *coro.Co) {
			for {
				v, err := ch.Pop(c, coro.Forever)
				if err != nil {
					tr.say("consumer: %v", err)
					return
				}
				tr.say("pop %d", v)
			}
		})
		for i := range 2 {
			tr.say("push %d", i)
			noErr(t, fmt.Sprintf("Push(%d) to a waiting consumer", i), ch.Push(c, i, coro.Forever))
			tr.say("pushed %d", i)
		}
		ch.Close()
		tr.say("end")
	})
	tr.check(t, "push 0, pop 0, pushed 0, push 1, pop 1, pushed 1, consumer: coro: closed, end",
		"a Push that finds a consumer waiting in Pop hands it the value and resumes it at once (Token.Resume switches to it): "+
			"the consumer prints before Push returns; Close resumes the waiting consumer with ErrClosed before Close returns")
}

// Two coroutines bounce a number through one rendezvous channel, each
// Pop followed by a Push on the same channel: a resumed consumer pushes
// before the Push that resumed it has returned.
func TestLab12PingPong(t *testing.T) {
	var tr trace
	run(t, func(c *coro.Co) {
		ch := NewChan[int](0)
		for _, name := range []string{"ping", "pong"} {
			c.Go(func(c *coro.Co) {
				for {
					v, err := ch.Pop(c, coro.Forever)
					if err != nil {
						tr.say("%s: %v", name, err)
						return
					}
					tr.say("%s %d", name, v)
					if v == 5 {
						ch.Close()
						return
					}
					if err := ch.Push(c, v+1, coro.Forever); err != nil {
						tr.say("%s: push: %v", name, err)
						return
					}
				}
			})
		}
		noErr(t, "the first Push", ch.Push(c, 0, coro.Forever))
	})
	tr.check(t, "ping 0, pong 1, ping 2, pong 3, ping 4, pong 5, ping: coro: closed",
		"ping, resumed by a Push, pushes the next number while that first Push has not returned yet: "+
			"a waiter must be out of its queue before Resume runs it, or the next Push hands the value to the waiter that was just served")
}

// A full channel makes the producer wait; a Pop makes room, moves the
// producer's value into the buffer and resumes it at once.
func TestLab12Capacity(t *testing.T) {
	var tr trace
	run(t, func(c *coro.Co) {
		ch := NewChan[string](2)
		c.Go(func(c *coro.Co) {
			for _, v := range []string{"a", "b", "c"} {
				if err := ch.Push(c, v, coro.Forever); err != nil {
					tr.say("push %s: %v", v, err)
					return
				}
				tr.say("pushed %s", v)
			}
		})
		tr.say("len %d", ch.Len())
		isErr(t, "Push with timeout 0 to a full channel", ch.Push(c, "x", 0), coro.ErrTimeout)
		for range 3 {
			v, err := ch.Pop(c, coro.Forever)
			if err != nil {
				tr.say("pop: %v", err)
				return
			}
			tr.say("popped %s", v)
		}
		tr.say("len %d", ch.Len())
	})
	tr.check(t, "pushed a, pushed b, len 2, pushed c, popped a, popped b, popped c, len 0",
		"capacity 2 takes two values without waiting; the third Push waits until a Pop makes room, "+
			"and that Pop moves its value into the buffer and resumes the producer before it returns; values come out first in, first out")
}

// Capacity 0 is a rendezvous: a Push waits for a Pop, a Pop for a Push.
func TestLab12Rendezvous(t *testing.T) {
	var tr trace
	run(t, func(c *coro.Co) {
		ch := NewChan[error](0) // a nil interface value must pass too
		c.Go(func(c *coro.Co) {
			tr.say("push")
			noErr(t, "Push on a rendezvous channel", ch.Push(c, nil, coro.Forever))
			tr.say("pushed")
		})
		tr.say("pop")
		v, err := ch.Pop(c, coro.Forever)
		noErr(t, "Pop from a waiting producer", err)
		tr.say("popped %v", v)

		c.Go(func(c *coro.Co) {
			tr.say("pop")
			v, err := ch.Pop(c, coro.Forever)
			noErr(t, "Pop waiting for a Push", err)
			tr.say("popped %v", v)
		})
		tr.say("push")
		noErr(t, "Push to a waiting consumer", ch.Push(c, errors.New("boom"), coro.Forever))
		tr.say("pushed")
		isErr(t, "Push with timeout 0 and no consumer, capacity 0", ch.Push(c, nil, 0), coro.ErrTimeout)
		if ch.Len() != 0 {
			t.Errorf("a rendezvous channel buffers nothing: Len %d after the Pushes", ch.Len())
		}
	})
	tr.check(t, "push, pop, pushed, popped <nil>, pop, push, popped boom, pushed",
		"at capacity 0 the producer waits in Push until a Pop takes its value (and resumes it at once), "+
			"and a consumer waits in Pop until a Push hands it one")
}

// A timed-out wait leaves the queue: nothing is handed to, or taken from,
// a coroutine that has given up.
func TestLab12Timeouts(t *testing.T) {
	const d = 20 * time.Millisecond
	run(t, func(c *coro.Co) {
		ch := NewChan[int](1)
		_, err := ch.Pop(c, 0)
		isErr(t, "Pop with timeout 0 on an empty channel (0 does not wait)", err, coro.ErrTimeout)
		t0 := time.Now()
		_, err = ch.Pop(c, d)
		isErr(t, fmt.Sprintf("Pop with timeout %s on an empty channel", d), err, coro.ErrTimeout)
		if waited := time.Since(t0); waited < d {
			t.Errorf("Pop with timeout %s gave up after %s: it must wait in Token.Wait(timeout)", d, waited)
		}
		noErr(t, "Push to an empty channel after a timed-out Pop", ch.Push(c, 1, 0))
		if ch.Len() != 1 {
			t.Errorf("after a Pop timed out, a Push must be buffered (Len 1), got Len %d: was it handed to the consumer that gave up? It must leave the queue when Wait fails", ch.Len())
		}
		isErr(t, "Push with a timeout to a full channel", ch.Push(c, 2, d), coro.ErrTimeout)
		if ch.Len() != 1 {
			t.Errorf("a timed-out Push sent nothing: Len %d, want 1", ch.Len())
		}
		v, err := ch.Pop(c, 0)
		noErr(t, "Pop of the buffered value", err)
		if v != 1 {
			t.Errorf("Pop got %d, want 1", v)
		}
		if v, err := ch.Pop(c, 0); err == nil {
			t.Errorf("Pop got %d from the producer that timed out: a failed Wait must leave the queue", v)
		}

		// A waiter resumed before its timeout gets the value, not ErrTimeout.
		c.Go(func(c *coro.Co) {
			v, err := ch.Pop(c, time.Second)
			noErr(t, "Pop resumed before its timeout", err)
			if v != 3 {
				t.Errorf("Pop got %d, want 3", v)
			}
		})
		c.Sleep(d)
		noErr(t, "Push to a consumer waiting with a timeout", ch.Push(c, 3, 0))
	})
}

// A canceled waiter gets its *CanceledError and leaves the queue.
func TestLab12Cancel(t *testing.T) {
	var popErr error
	run(t, func(c *coro.Co) {
		ch := NewChan[int](1)
		waiter, _ := c.Go(func(c *coro.Co) { _, popErr = ch.Pop(c, coro.Forever) })
		waiter.Cancel(errors.New("shutting down"))
		noErr(t, "Push after the only consumer was canceled", ch.Push(c, 1, 0))
		if ch.Len() != 1 {
			t.Errorf("the canceled consumer must have left the queue, so a Push is buffered: Len %d, want 1", ch.Len())
		}
	})
	if !errors.Is(popErr, coro.ErrCanceled) || !strings.Contains(fmt.Sprint(popErr), "shutting down") {
		t.Errorf("a Pop whose coroutine is canceled returns Wait's *coro.CanceledError as it is; got %v", popErr)
	}
}

// Close wakes every waiter with ErrClosed; what was buffered is still
// received, then Pop fails; Push fails at once.
func TestLab12Close(t *testing.T) {
	var tr trace
	run(t, func(c *coro.Co) {
		empty := NewChan[int](1)
		for i := range 2 {
			c.Go(func(c *coro.Co) { _, err := empty.Pop(c, coro.Forever); tr.say("consumer %d: %v", i, err) })
		}
		tr.say("close")
		empty.Close()
		tr.say("closed")
		isErr(t, "Push on a closed channel", empty.Push(c, 1, coro.Forever), coro.ErrClosed)
		_, err := empty.Pop(c, coro.Forever)
		isErr(t, "Pop on a closed, empty channel", err, coro.ErrClosed)
		empty.Close() // a second Close does nothing

		full := NewChan[int](2)
		noErr(t, "Push 7", full.Push(c, 7, 0))
		noErr(t, "Push 8", full.Push(c, 8, 0))
		c.Go(func(c *coro.Co) { tr.say("producer: %v", full.Push(c, 9, coro.Forever)) })
		full.Close()
		for range 3 {
			v, err := full.Pop(c, coro.Forever)
			if err != nil {
				tr.say("pop: %v", err)
				break
			}
			tr.say("pop %d", v)
		}
	})
	tr.check(t, "close, consumer 0: coro: closed, consumer 1: coro: closed, closed, producer: coro: closed, pop 7, pop 8, pop: coro: closed",
		"Close resumes each waiting coroutine, in the order they came, with ErrClosed before it returns; "+
			"a producer waiting at Close sent nothing; Pop still drains what was buffered, then fails with ErrClosed")
}

// Many producers and consumers through a small buffer and a rendezvous:
// every value arrives exactly once, each producer's in order, and
// everybody ends.
func TestLab12ManyProducersConsumers(t *testing.T) {
	const producers, consumers, each = 5, 3, 200
	for _, capacity := range []int{0, 1, 4} {
		t.Run(fmt.Sprintf("capacity %d", capacity), func(t *testing.T) {
			seen := map[int]int{} // value → times received
			last := map[int]int{} // producer → its last value received
			perConsumer := make([]int, consumers)
			var outOfOrder []string
			run(t, func(c *coro.Co) {
				ch := NewChan[int](capacity)
				var sent coro.WaitGroup
				for p := range producers {
					sent.Add(1)
					c.Go(func(c *coro.Co) {
						defer sent.Done()
						for i := range each {
							if err := ch.Push(c, p*each+i, coro.Forever); err != nil {
								t.Errorf("producer %d, Push %d: %v", p, i, err)
								return
							}
							if i%7 == p { // now and then let the others run
								c.Sleep(time.Microsecond)
							}
						}
					})
				}
				for k := range consumers {
					c.Go(func(c *coro.Co) {
						for {
							v, err := ch.Pop(c, coro.Forever)
							if err != nil {
								if !errors.Is(err, coro.ErrClosed) {
									t.Errorf("consumer %d: %v", k, err)
								}
								return
							}
							seen[v]++
							perConsumer[k]++
							p := v / each
							if prev, ok := last[p]; ok && v <= prev && len(outOfOrder) < 3 {
								outOfOrder = append(outOfOrder, fmt.Sprintf("%d after %d", v, prev))
							}
							last[p] = v
						}
					})
				}
				if err := sent.Wait(c, 10*time.Second); err != nil {
					t.Errorf("the producers did not all finish in 10 s: %v", err)
				}
				ch.Close()
			})
			missing, twice := 0, 0
			for v := range producers * each {
				switch seen[v] {
				case 0:
					missing++
				case 1:
				default:
					twice++
				}
			}
			if missing > 0 || twice > 0 {
				t.Errorf("%d producers pushed %d values each: %d never arrived, %d arrived more than once", producers, each, missing, twice)
			}
			if len(outOfOrder) > 0 {
				t.Errorf("one producer's values must come out in the order it pushed them (first in, first out): %s", strings.Join(outOfOrder, "; "))
			}
			t.Logf("capacity %d: the consumers received %v", capacity, perConsumer)
		})
	}
}
