package fpm

import (
	"io"
	"testing"

	"github.com/corofpm/corofpm/fpm/script"
	"github.com/corofpm/corofpm/net/fastcgi"
	"github.com/corofpm/corofpm/net/sock"
)

// helloRequest is a request for /hello.php as nginx frames it, with
// nginx's params, on a connection it will not keep.
func helloRequest() []byte {
	params := map[string]string{
		"SCRIPT_FILENAME": "/srv/www/hello.php", "SCRIPT_NAME": "/hello.php", "QUERY_STRING": "",
		"REQUEST_METHOD": "GET", "CONTENT_TYPE": "", "CONTENT_LENGTH": "", "REQUEST_URI": "/hello.php",
		"DOCUMENT_URI": "/hello.php", "DOCUMENT_ROOT": "/srv/www", "SERVER_PROTOCOL": "HTTP/1.1",
		"REQUEST_SCHEME": "http", "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_SOFTWARE": "nginx/1.22.1",
		"REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "51012", "SERVER_ADDR": "127.0.0.1", "SERVER_PORT": "8080",
		"SERVER_NAME": "localhost", "REDIRECT_STATUS": "200", "HTTP_HOST": "127.0.0.1:8080",
		"HTTP_USER_AGENT": "wrk", "HTTP_ACCEPT": "*/*",
	}
	var p []byte
	for name, value := range params {
		p = fastcgi.AppendParam(p, name, value)
	}
	b := fastcgi.AppendBeginRequest(nil, 1, fastcgi.RoleResponder, 0)
	b = fastcgi.AppendStream(b, fastcgi.TypeParams, 1, p)
	return fastcgi.AppendStream(b, fastcgi.TypeStdin, 1, nil)
}

// BenchmarkWorker is a hello request on a connection of its own (nginx
// without fastcgi_keep_conn), served by one worker of each model in this
// process, from 8 clients at once: the wall time per request, client
// included, and the allocations of both sides. It compares changes to a
// worker; make bench-fpm compares the models, each in its processes.
func BenchmarkWorker(b *testing.B) {
	for _, model := range []string{"blocking", "coroutine"} {
		b.Run(model, func(b *testing.B) {
			ln := poolSocket(b)
			scripts := script.Default(script.Blocking{}, "")
			var stop func()
			done := make(chan error, 1)
			if model == "blocking" {
				w := &BlockingWorker{Listener: ln, Handler: scripts, Config: fastcgi.Config{}}
				stop = w.Stop
				go func() { done <- w.Run() }()
			} else {
				w := &CoroutineWorker{Listener: ln, Scripts: scripts, Coroutines: 128, Config: fastcgi.Config{}}
				stop = w.Stop
				go func() { done <- w.Run() }()
			}
			req := helloRequest()
			b.SetParallelism(4)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				buf := make([]byte, 512)
				for pb.Next() {
					c, err := sock.Dial(ln.Addr)
					if err != nil {
						b.Error(err)
						return
					}
					if _, err := c.Write(req); err != nil {
						b.Error(err)
					}
					for {
						if _, err := c.Read(buf); err != nil {
							if err != io.EOF {
								b.Error(err)
							}
							break
						}
					}
					c.Close()
				}
			})
			b.StopTimer()
			stop()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}
