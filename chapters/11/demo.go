package main

import (
	"fmt"

	"github.com/corofpm/corofpm/tutorial/narrator"
)

// tracer prints what tasks say, tagged with their names, and keeps it for
// the test.
type tracer struct {
	n     *narrator.Narrator
	lines []string
}

func (tr *tracer) say(t *Task, format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	tr.lines = append(tr.lines, t.Name+": "+line)
	tr.n.From(fmt.Sprintf("task %d %s", t.ID, t.Name), 0, "%s", line)
}

// ANCHOR: round-robin
// roundRobin runs two tasks that print and yield: they take turns.
func roundRobin(n *narrator.Narrator) ([]string, error) {
	tr := &tracer{n: n}
	s, err := newSched()
	if err != nil {
		return nil, err
	}
	loop := func(times int) func(*Task) {
		return func(t *Task) {
			for i := range times {
				tr.say(t, "step %d", i)
				t.Yield()
			}
		}
	}
	s.Spawn("foo", loop(3))
	s.Spawn("bar", loop(2))
	err = s.Run()
	n.Say("each Yield sent its task to the back of the queue: %d switches, one thread", s.Switches)
	return tr.lines, err
}

// ANCHOR_END: round-robin

// ANCHOR: syscalls-demo
// syscalls shows every system call but IO: a task asks its id, spawns a
// worker and a spinner, kills the spinner, waits for the worker.
func syscalls(n *narrator.Narrator) ([]string, error) {
	n.Say("system calls: a task yields a request, the scheduler carries it out and resumes the task with the answer")
	tr := &tracer{n: n}
	s, err := newSched()
	if err != nil {
		return nil, err
	}
	s.Spawn("main", func(t *Task) {
		tr.say(t, "my id is %d", t.MyID())
		worker := t.Spawn("worker", func(t *Task) {
			for i := range 2 {
				tr.say(t, "working %d", i)
				t.Yield()
			}
			tr.say(t, "exits")
		})
		spinner := t.Spawn("spinner", func(t *Task) {
			for {
				tr.say(t, "spins")
				t.Yield()
			}
		})
		tr.say(t, "spawned %d and %d", worker, spinner)
		t.Yield()
		tr.say(t, "kill %d: %v", spinner, t.Kill(spinner))
		tr.say(t, "wait for %d", worker)
		t.Wait(worker)
		tr.say(t, "%d has exited", worker)
	})
	return tr.lines, s.Run()
}

// ANCHOR_END: syscalls-demo
