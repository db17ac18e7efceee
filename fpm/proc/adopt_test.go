package proc_test

import (
	"syscall"
	"testing"

	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAdoptWaitsForAChildStartedElsewhere reaps, through Adopt, a child
// that proc.Start did not start, and reads its status.
func TestAdoptWaitsForAChildStartedElsewhere(t *testing.T) {
	pid, err := syscall.ForkExec("/bin/sh", []string{"sh", "-c", "exit 7"}, &syscall.ProcAttr{})
	require.NoError(t, err)
	st, err := proc.Adopt(pid, "sh").Wait()
	require.NoError(t, err)
	assert.Equal(t, proc.Status{Exited: true, Code: 7, User: st.User, System: st.System}, st)
	noChildrenLeft(t)
}
