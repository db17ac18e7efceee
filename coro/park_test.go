package coro

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeIdler stands for a reactor: its Idle is where epoll_wait will be,
// and it resumes the parked coroutines whose events it has.
type fakeIdler struct {
	ready []*Token // the "fds" that are ready
	idles int
}

func (f *fakeIdler) Idle(deadline time.Time) {
	f.idles++
	for _, tok := range f.ready {
		tok.Resume("readable")
	}
	f.ready = nil
}
func (f *fakeIdler) Wake() {}

func TestParkResumedByIdler(t *testing.T) {
	idler := &fakeIdler{}
	s := New(Options{Idler: idler})
	var tr trace
	require.NoError(t, s.Run(func(c *Co) {
		for _, fd := range []string{"fd 7", "fd 8"} {
			c.Go(func(c *Co) {
				tok := c.Park("read " + fd)
				idler.ready = append(idler.ready, tok) // "epoll_ctl(ADD)"
				v, err := tok.Wait(Forever)
				require.NoError(t, err)
				tr.say(fd + " " + v.(string))
			})
		}
		tr.say("main exits")
	}))
	assert.Equal(t, "main exits fd 7 readable fd 8 readable", tr.String())
	assert.Equal(t, 1, idler.idles)
}

func TestParkEarlyResumeTimeoutCancel(t *testing.T) {
	run(t, func(c *Co) {
		tok := c.Park("instant")
		assert.True(t, tok.Resume(1), "a Resume before Wait is kept")
		v, err := tok.Wait(Forever)
		assert.Equal(t, 1, v)
		assert.NoError(t, err)
		assert.False(t, tok.Resume(2), "a token is used once")

		tok = c.Park("never")
		_, err = tok.Wait(time.Millisecond)
		assert.ErrorIs(t, err, ErrTimeout)
		assert.False(t, tok.Resume(3), "too late")

		var cancelErr error
		victim, _ := c.Go(func(c *Co) { _, cancelErr = c.Park("read fd 9").Wait(Forever) })
		victim.Cancel(errors.New("deadline"))
		assert.ErrorIs(t, cancelErr, ErrCanceled)
		assert.Zero(t, c.Scheduler().parked)
	})
}

// Many goroutines post to one scheduler at once: the queue is the one
// thread-safe door (run with -race).
func TestPostFromManyGoroutines(t *testing.T) {
	const n = 50
	sum := 0
	run(t, func(c *Co) {
		var wg sync.WaitGroup
		toks := make([]*Token, n)
		for i := range toks {
			toks[i] = c.Park("post")
		}
		for i, tok := range toks {
			wg.Go(func() { tok.Post(i) })
		}
		for _, tok := range toks {
			v, err := tok.Wait(Forever)
			require.NoError(t, err)
			sum += v.(int)
		}
		wg.Wait()
	})
	assert.Equal(t, n*(n-1)/2, sum)
}
