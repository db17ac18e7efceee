package script

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/corofpm/corofpm/net/fastcgi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeIO records what scripts asked of their worker, so the tests can check
// that scripts do their IO through it and nowhere else.
type fakeIO struct {
	slept []time.Duration
	got   []string
}

func (f *fakeIO) Sleep(d time.Duration) { f.slept = append(f.slept, d) }
func (f *fakeIO) Get(url string) ([]byte, error) {
	f.got = append(f.got, url)
	return []byte("upstream says hi"), nil
}

// call runs one request through table t with the FastCGI client, over a
// real loopback connection.
func call(t *testing.T, h fastcgi.Handler, params map[string]string) *fastcgi.CGIResponse {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		fastcgi.NewConn(nc, "test", fastcgi.Config{}).Serve(h)
	}()
	c, err := fastcgi.Dial(ln.Addr().String(), time.Second)
	require.NoError(t, err)
	defer c.Close()
	reply, err := c.Do(fastcgi.Call{Params: params})
	require.NoError(t, err)
	resp, err := fastcgi.ParseCGI(reply.Stdout)
	require.NoError(t, err)
	return resp
}

func TestTableFindsScriptsByName(t *testing.T) {
	io := &fakeIO{}
	tab := Default(io, "http://upstream.invalid/")
	resp := call(t, tab, map[string]string{"SCRIPT_NAME": "/hello.php"})
	assert.Equal(t, "Hello from corofpm\n", string(resp.Body))

	// Without SCRIPT_NAME, the file name in SCRIPT_FILENAME decides.
	resp = call(t, tab, map[string]string{"SCRIPT_FILENAME": "/srv/www/hello.php"})
	assert.Equal(t, "Hello from corofpm\n", string(resp.Body))

	resp = call(t, tab, map[string]string{"SCRIPT_NAME": "/sleep.php", "QUERY_STRING": "ms=250"})
	assert.Equal(t, "slept 250 ms\n", string(resp.Body))
	assert.Equal(t, []time.Duration{250 * time.Millisecond}, io.slept, "sleep.php slept through its worker's IO")

	resp = call(t, tab, map[string]string{"SCRIPT_NAME": "/upstream.php"})
	assert.Equal(t, "upstream says hi", string(resp.Body))
	resp = call(t, tab, map[string]string{"SCRIPT_NAME": "/upstream.php", "QUERY_STRING": "url=http%3A%2F%2Fother.invalid%2Fx"})
	assert.Equal(t, "upstream says hi", string(resp.Body))
	assert.Equal(t, []string{"http://upstream.invalid/", "http://other.invalid/x"}, io.got, "?url= overrides the default")

	resp = call(t, tab, map[string]string{"SCRIPT_NAME": "/info.php", "REQUEST_METHOD": "GET"})
	assert.Equal(t, "REQUEST_METHOD = GET\nSCRIPT_NAME = /info.php\n", string(resp.Body))
}

func TestUpstreamWithoutAURLIs400(t *testing.T) {
	for _, query := range []string{"", "url=file%3A%2F%2F%2Fetc%2Fpasswd"} {
		io := &fakeIO{}
		resp := call(t, Default(io, ""), map[string]string{"SCRIPT_NAME": "/upstream.php", "QUERY_STRING": query})
		assert.Equal(t, 400, resp.Status, query)
		assert.Empty(t, io.got, "nothing fetched for %q", query)
	}
}

func TestUnknownScriptIs404(t *testing.T) {
	resp := call(t, Default(&fakeIO{}, ""), map[string]string{"SCRIPT_NAME": "/missing.php"})
	assert.Equal(t, 404, resp.Status)
	assert.Equal(t, "File not found.\n", string(resp.Body))
}

func TestBlockingIOGetsARealUpstream(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok"))
	}))
	defer up.Close()
	resp := call(t, Default(Blocking{}, up.URL), map[string]string{"SCRIPT_NAME": "/upstream.php"})
	assert.Equal(t, 200, resp.Status)
	assert.Equal(t, "ok", string(resp.Body))

	up.Close()
	resp = call(t, Default(Blocking{}, up.URL), map[string]string{"SCRIPT_NAME": "/upstream.php"})
	assert.Equal(t, 502, resp.Status, "an upstream that is down is a 502")
}
