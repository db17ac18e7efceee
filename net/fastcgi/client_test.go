package fastcgi

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClientAgainstGoFCGI runs the client against Go's net/http/fcgi, an
// implementation written independently of this one.
func TestClientAgainstGoFCGI(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		done <- fcgi.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			w.Header().Set("X-Script", r.URL.Path)
			if r.URL.Path == "/missing.php" {
				w.WriteHeader(http.StatusNotFound)
			}
			fmt.Fprintf(w, "%s %s body=%s", r.Method, r.URL.RequestURI(), body)
			w.Write([]byte(strings.Repeat("z", 100000))) // several STDOUT records
		}))
	}()
	t.Cleanup(func() { ln.Close(); <-done })

	c := dial(t, ln.Addr().String())
	params := nginxParams("/echo.php")
	params["REQUEST_METHOD"] = "POST"
	params["REQUEST_URI"] = "/echo.php?a=1"
	params["QUERY_STRING"] = "a=1"
	params["CONTENT_LENGTH"] = "5"
	for i, script := range []string{"/echo.php", "/missing.php"} {
		params["SCRIPT_NAME"], params["REQUEST_URI"] = script, script+"?a=1"
		r, err := c.Do(Call{ID: uint16(i + 1), KeepConn: true, Params: params, Stdin: []byte("hello")})
		require.NoError(t, err)
		assert.Equal(t, uint8(StatusRequestComplete), r.ProtocolStatus)
		resp, err := ParseCGI(r.Stdout)
		require.NoError(t, err)
		want := 200
		if script == "/missing.php" {
			want = 404
		}
		assert.Equal(t, want, resp.Status)
		assert.Equal(t, script, resp.Header.Get("X-Script"))
		assert.Equal(t, "POST "+script+"?a=1 body=hello"+strings.Repeat("z", 100000), string(resp.Body))
	}
	v, err := c.GetValues(MaxConns, MaxReqs, MpxsConns)
	require.NoError(t, err)
	assert.Equal(t, "1", v[MpxsConns], "net/http/fcgi multiplexes")
}
