package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corofpm/corofpm/net/fastcgi"
	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/chaptertest"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/corofpm/corofpm/tutorial/peer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestChapter runs the walkthrough and checks what it teaches from what it
// measured.
func TestChapter(t *testing.T) {
	peer.Need(t, "nginx")
	var out bytes.Buffer
	res, err := run(narrator.New(&out), &chapter.Options{Quick: true})
	require.NoError(t, err, out.String())

	// The body came back through real nginx.
	assert.True(t, res.ViaNginx)
	assert.Equal(t, "Hello from corofpm\n", res.Body)

	// The records are those of a FastCGI request and its answer, in order.
	var types []string
	for _, r := range res.Records {
		types = append(types, r.Header.Type.String())
		assert.Equal(t, uint16(1), r.Header.RequestID, "nginx uses request id 1")
		assert.Zero(t, (int(r.Header.ContentLength)+int(r.Header.PaddingLength))%8, "records are 8-byte aligned")
	}
	assert.Equal(t, "BEGIN_REQUEST PARAMS PARAMS STDIN STDOUT STDOUT END_REQUEST", strings.Join(types, " "))
	params := map[string]string{}
	for _, p := range res.Params {
		params[p.Name] = p.Value
	}
	assert.Equal(t, "/hello.php", params["SCRIPT_NAME"])
	assert.Equal(t, "GET", params["REQUEST_METHOD"])
	assert.Contains(t, out.String(), "BEGIN_REQUEST")

	// The two slow requests did not overlap in the worker: the second
	// started only after the first finished.
	require.Len(t, res.Slow, 2)
	first, second := res.Slow[0], res.Slow[1]
	assert.False(t, second.Started.Before(first.Finished), "second started %v before the first finished", first.Finished.Sub(second.Started))
	assert.False(t, second.Accepted.Before(first.Finished), "the second connection was accepted only after the first request")

	children, err := peer.Children()
	require.NoError(t, err)
	assert.Empty(t, children, "the chapter left processes behind")
}

// TestServeWithCgiFcgiAndCurl runs the chapter as a reader would with
// -serve on a unix socket, asks it with curl through nginx and with
// cgi-fcgi, then stops it with SIGINT.
func TestServeWithCgiFcgiAndCurl(t *testing.T) {
	peer.Need(t, "nginx", "cgi-fcgi", "curl")
	sockPath := filepath.Join(t.TempDir(), "fpm.sock")
	s := chaptertest.Serve(t, "-listen", sockPath)
	url := regexp.MustCompile(`curl -i (http://\S+/hello.php)`).FindStringSubmatch(s.Printed)
	require.NotNil(t, url, s.Printed)
	body, err := exec.Command("curl", "-sS", "--max-time", "10", url[1]).Output()
	require.NoError(t, err, "curl %s", url[1])
	assert.Equal(t, "Hello from corofpm\n", string(body))

	got, err := peer.CgiFcgi(sockPath, map[string]string{"SCRIPT_NAME": "/hello.php", "REQUEST_METHOD": "GET"}, nil, 5*time.Second)
	require.NoError(t, err)
	cgi, err := fastcgi.ParseCGI(got)
	require.NoError(t, err)
	assert.Equal(t, "Hello from corofpm\n", string(cgi.Body))

	got, err = peer.CgiFcgi(sockPath, map[string]string{"SCRIPT_NAME": "/nope.php", "REQUEST_METHOD": "GET"}, nil, 5*time.Second)
	require.NoError(t, err)
	cgi, err = fastcgi.ParseCGI(got)
	require.NoError(t, err)
	assert.Equal(t, 404, cgi.Status, "an unknown script is a 404, as in php-fpm")

	s.Stop(t)
	nginxPid := regexp.MustCompile(`nginx \(pid (\d+)\)`).FindStringSubmatch(s.Printed)
	require.NotNil(t, nginxPid, s.Printed)
	pid, _ := strconv.Atoi(nginxPid[1])
	assert.True(t, chaptertest.Gone(pid), "nginx (pid %d) was left running", pid)
}
