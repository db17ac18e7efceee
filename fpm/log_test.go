package fpm

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLogLinesLookLikePHPFPMs(t *testing.T) {
	var buf bytes.Buffer
	l := NewLog(&buf, Notice)
	l.now = func() time.Time { return time.Date(2026, 11, 25, 10, 15, 0, 0, time.UTC) }
	l.Printf(Notice, "fpm is running, pid %d", 4242)
	l.Printf(Debug, "not shown at notice")
	l.Pool("www")(Warning, "child %d exited with code %d", 4250, 1)
	assert.Equal(t, "[25-Nov-2026 10:15:00] NOTICE: fpm is running, pid 4242\n"+
		"[25-Nov-2026 10:15:00] WARNING: [pool www] child 4250 exited with code 1\n", buf.String())
}

func TestParseLevel(t *testing.T) {
	for s, want := range map[string]Level{"alert": Alert, "ERROR": Error, "warning": Warning, "notice": Notice, "debug": Debug} {
		got, err := ParseLevel(s)
		require.NoError(t, err)
		assert.Equal(t, want, got, s)
	}
	_, err := ParseLevel("loud")
	assert.EqualError(t, err, `unknown log level "loud" (alert, error, warning, notice or debug)`)
}

func TestReopenFollowsTheRotatedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fpm.log")
	l, err := OpenLog(path, Notice)
	require.NoError(t, err)
	defer l.Close()
	l.Printf(Notice, "before")
	require.NoError(t, os.Rename(path, path+".1")) // what logrotate does
	l.Printf(Notice, "still the old file")
	require.NoError(t, l.Reopen())
	l.Printf(Notice, "after")

	old, err := os.ReadFile(path + ".1")
	require.NoError(t, err)
	assert.Contains(t, string(old), "before")
	assert.Contains(t, string(old), "still the old file")
	cur, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.NotContains(t, string(cur), "before")
	assert.Contains(t, string(cur), "NOTICE: after")
}
