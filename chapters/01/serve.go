package main

import (
	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

// serve keeps the worker (and nginx in front of it) up until SIGINT or
// SIGTERM, for the reader to poke.
func serve(n *narrator.Narrator, opts *chapter.Options) error {
	n.Title(info.Number, info.Title+" (serving)")
	s, err := start(n, opts.Listen)
	if err != nil {
		return err
	}
	n.Say("try:")
	if s.nginx != nil {
		n.Say("  curl -i %s", s.nginx.URL("/hello.php"))
		n.Say("  curl -i '%s'", s.nginx.URL("/sleep.php?ms=2000"))
	}
	n.Say("  SCRIPT_NAME=/hello.php REQUEST_METHOD=GET cgi-fcgi -bind -connect %s", s.ln.Addr)
	n.Say("stop with ^C")
	sig := chapter.WaitForStop()
	n.Say("%v: stopping nginx and the worker", sig)
	return s.stop()
}
