package peer_test

import (
	"os"
	"strings"
	"testing"

	"github.com/corofpm/corofpm/tutorial/peer"
)

// TestNginxReturn checks the ceiling location: nginx answers /return by
// itself, newline and all, while .php requests still go to FastCGI; and a
// body nginx.conf cannot hold is refused before nginx starts.
func TestNginxReturn(t *testing.T) {
	r := startResponder(t, false)
	n := startNginx(t, peer.NginxConfig{FastCGI: r.Addr, Return: "hello\tthere\n", KeepConn: true, Keepalive: 2})
	if status, body := get(t, n.URL("/return")); status != 200 || body != "hello\tthere\n" {
		t.Errorf("GET /return = %d %q, want 200 %q", status, body, "hello\tthere\n")
	}
	if status, body := get(t, n.URL("/hello.php")); status != 200 || body != "hello from /hello.php\n" {
		t.Errorf("GET /hello.php = %d %q", status, body)
	}
	conf, err := os.ReadFile(n.Dir + "/nginx.conf")
	if err != nil || !strings.Contains(string(conf), "keepalive 2;") {
		t.Errorf("nginx.conf has no \"keepalive 2;\" (%v)", err)
	}
	for _, body := range []string{`say "hi"`, `C:\`, "$host"} {
		if n, err := peer.StartNginx(peer.NginxConfig{Dir: t.TempDir(), FastCGI: r.Addr, Return: body}); err == nil {
			n.Stop()
			t.Errorf("Return %q: no error", body)
		}
	}
}
