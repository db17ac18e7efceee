package main

import (
	"fmt"
	"iter"

	"github.com/corofpm/corofpm/net/poll"
)

// The classic "operating system" of generators: tasks are coroutines that
// yield to a round-robin scheduler, and what they yield is either nothing
// (let the others run) or a system call for the scheduler to carry out.
// Go's iter.Pull turns each task function into a coroutine.

// ANCHOR: task
// Task is one task: a coroutine made by iter.Pull from its function.
type Task struct {
	ID   int
	Name string
	// next resumes the task until its next yield; stop kills it.
	next func() (syscall, bool)
	stop func()
	// yield, inside the task, hands a system call (or nil) back to Run.
	yield func(syscall) bool
	// ret is the result of the task's last system call, set by the
	// scheduler before it resumes the task: iter.Pull can return a value
	// from the generator but not send one in, so the answer waits here.
	ret any
	// waiters are the tasks blocked in Wait on this one.
	waiters []*Task
}

// killed unwinds a killed task's function; spawn's wrapper recovers it.
type killed struct{}

// call yields sc to the scheduler and returns its answer. A false from
// yield means the scheduler stopped the task: unwind.
func (t *Task) call(sc syscall) any {
	if !t.yield(sc) {
		panic(killed{})
	}
	return t.ret
}

// Yield lets the other ready tasks run, then continues.
func (t *Task) Yield() { t.call(nil) }

// ANCHOR_END: task

// The system calls a task can make, each a method that yields.

// MyID is the task's id, as the scheduler knows it.
func (t *Task) MyID() int { return t.call(getID{}).(int) }

// Spawn starts a new task and returns its id.
func (t *Task) Spawn(name string, fn func(*Task)) int {
	return t.call(spawn{name, fn}).(int)
}

// Kill stops task id; false if there is no such task.
func (t *Task) Kill(id int) bool { return t.call(kill{id}).(bool) }

// Wait blocks until task id exits; false if there is no such task.
func (t *Task) Wait(id int) bool { return t.call(waitTask{id}).(bool) }

// WaitRead and WaitWrite block until fd is readable or writable.
func (t *Task) WaitRead(fd int)  { t.call(waitIO{fd, poll.Readable}) }
func (t *Task) WaitWrite(fd int) { t.call(waitIO{fd, poll.Writable}) }

// ANCHOR: syscalls
// A syscall is carried out by the scheduler on the task that made it. It
// either puts the task back in the ready queue with an answer, or parks
// it until something happens.
type syscall interface{ do(s *Sched, t *Task) }

type getID struct{}
type spawn struct {
	name string
	fn   func(*Task)
}
type kill struct{ id int }
type waitTask struct{ id int }
type waitIO struct {
	fd int
	ev poll.Events
}

func (getID) do(s *Sched, t *Task)   { s.ready(t, t.ID) }
func (c spawn) do(s *Sched, t *Task) { s.ready(t, s.Spawn(c.name, c.fn)) }

func (c kill) do(s *Sched, t *Task) {
	victim := s.tasks[c.id]
	if victim != nil {
		s.remove(victim)
		victim.stop() // its yield returns false: it unwinds and exits
	}
	if victim != t {
		s.ready(t, victim != nil)
	}
}

func (c waitTask) do(s *Sched, t *Task) {
	if other := s.tasks[c.id]; other != nil {
		other.waiters = append(other.waiters, t) // exit readies us
		return
	}
	s.ready(t, false)
}

func (c waitIO) do(s *Sched, t *Task) {
	if err := s.poller.Add(c.fd, c.ev); err != nil {
		panic(fmt.Sprintf("task %d: watch fd %d: %v", t.ID, c.fd, err))
	}
	s.io[c.fd] = t // the poll in Run readies us
}

// ANCHOR_END: syscalls

// Sched is the round-robin scheduler.
type Sched struct {
	queue  []*Task
	tasks  map[int]*Task
	lastID int
	// poller and io are the tasks waiting on fds: one poll(2) for all.
	poller poll.Poller
	io     map[int]*Task
	// Switches counts resumptions of tasks, for the chapter's figures.
	Switches int
}

func newSched() (*Sched, error) {
	p, err := poll.New("poll")
	if err != nil {
		return nil, err
	}
	return &Sched{tasks: map[int]*Task{}, poller: p, io: map[int]*Task{}}, nil
}

// Spawn makes fn a task and queues it.
func (s *Sched) Spawn(name string, fn func(*Task)) int {
	s.lastID++
	t := &Task{ID: s.lastID, Name: name}
	t.next, t.stop = iter.Pull(func(yield func(syscall) bool) {
		t.yield = yield
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(killed); !ok {
					panic(r)
				}
			}
		}()
		fn(t)
	})
	s.tasks[t.ID] = t
	s.queue = append(s.queue, t)
	return t.ID
}

func (s *Sched) ready(t *Task, ret any) {
	t.ret = ret
	s.queue = append(s.queue, t)
}

// remove forgets t (it exited or was killed) and readies its waiters.
func (s *Sched) remove(t *Task) {
	delete(s.tasks, t.ID)
	for i, q := range s.queue {
		if q == t {
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			break
		}
	}
	for fd, w := range s.io {
		if w == t {
			s.poller.Remove(fd)
			delete(s.io, fd)
		}
	}
	for _, w := range t.waiters {
		s.ready(w, true)
	}
}

// ANCHOR: run
// Run runs tasks round-robin until none is left: take the first ready
// task, resume it until it yields, carry out what it yielded. When no
// task is ready but some wait on fds, block in poll(2) until one is.
func (s *Sched) Run() error {
	defer s.poller.Close()
	events := make([]poll.Event, 64)
	for len(s.tasks) > 0 {
		if len(s.queue) == 0 {
			if len(s.io) == 0 {
				return fmt.Errorf("deadlock: %d tasks wait and none can be woken", len(s.tasks))
			}
			k, err := s.poller.Wait(events, -1)
			if err != nil {
				return err
			}
			for _, ev := range events[:k] {
				t := s.io[ev.FD]
				s.poller.Remove(ev.FD)
				delete(s.io, ev.FD)
				s.ready(t, nil)
			}
			continue
		}
		t := s.queue[0]
		s.queue = s.queue[1:]
		s.Switches++
		sc, alive := t.next()
		switch {
		case !alive:
			s.remove(t)
		case sc == nil:
			s.ready(t, nil) // a plain Yield: to the back of the queue
		default:
			sc.do(s, t)
		}
	}
	return nil
}

// ANCHOR_END: run
