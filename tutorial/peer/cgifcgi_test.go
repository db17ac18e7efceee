package peer_test

import (
	"strings"
	"testing"
	"time"

	"github.com/corofpm/corofpm/tutorial/peer"
)

// params is a minimal CGI request, what cgi-fcgi turns into FCGI_PARAMS.
func params(method, uri string) map[string]string {
	return map[string]string{
		"REQUEST_METHOD":  method,
		"REQUEST_URI":     uri,
		"SCRIPT_NAME":     uri,
		"SERVER_PROTOCOL": "HTTP/1.1",
	}
}

func TestCgiFcgi(t *testing.T) {
	peer.Need(t, "cgi-fcgi")
	// Set in our environment, it must not reach the FastCGI server.
	t.Setenv("PEER_TEST_LEAK", "leaked")
	for _, unix := range []bool{false, true} {
		r := startResponder(t, unix)

		out, err := peer.CgiFcgi(r.Addr, params("GET", "/hello.php"), nil, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		// cgi-fcgi prints the CGI response as it came: headers, blank line, body.
		if !strings.HasSuffix(string(out), "\r\n\r\nhello from /hello.php\n") {
			t.Errorf("cgi-fcgi -connect %s GET: %q", r.Addr, out)
		}
		if !r.sawParam("SCRIPT_NAME", "/hello.php") {
			t.Errorf("SCRIPT_NAME did not reach %s", r.Addr)
		}
		if r.sawBytes("PEER_TEST_LEAK") {
			t.Errorf("our environment leaked into the FastCGI params")
		}

		// No CONTENT_LENGTH given: CgiFcgi sets it, or cgi-fcgi sends no body.
		out, err = peer.CgiFcgi(r.Addr, params("POST", "/echo.php"), []byte("ping"), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(string(out), "\r\n\r\nping") {
			t.Errorf("cgi-fcgi -connect %s POST: %q", r.Addr, out)
		}
	}
	if kids, err := peer.Children(); err != nil || len(kids) != 0 {
		t.Errorf("Children() after cgi-fcgi = %v, %v; want none", kids, err)
	}
}

func TestCgiFcgiTimeout(t *testing.T) {
	peer.Need(t, "cgi-fcgi")
	r := startResponder(t, false)
	start := time.Now()
	_, err := peer.CgiFcgi(r.Addr, params("GET", "/slow.php"), nil, 200*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "no answer within 200ms") {
		t.Errorf("slow server: err = %v, want a timeout", err)
	}
	if took := time.Since(start); took > 900*time.Millisecond {
		t.Errorf("CgiFcgi returned after %v; the 200ms timeout did not bound it", took)
	}
	if kids, err := peer.Children(); err != nil || len(kids) != 0 {
		t.Errorf("Children() after a timed-out cgi-fcgi = %v, %v; want none", kids, err)
	}
}
