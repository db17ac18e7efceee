package main

import (
	"os"
	"path/filepath"

	"github.com/corofpm/corofpm/net/sock"
	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/corofpm/corofpm/tutorial/peer"
)

// serve keeps a pool of -workers workers, the slow upstream and nginx up
// until SIGINT or SIGTERM.
func serve(n *narrator.Narrator, opts *chapter.Options) error {
	cfg := settingsFor(false)
	n.Title(info.Number, info.Title+" (serving)")
	upstream, stopUpstream, err := startUpstream(cfg.latency)
	if err != nil {
		return err
	}
	defer stopUpstream()
	ln, err := sock.Listen(opts.Listen, 1024)
	if err != nil {
		return err
	}
	defer ln.Close()
	n.SetVerbose(true) // the workers' log lines are the point here
	p, err := startPool(ln, *workers, upstream, tagger(n))
	if err != nil {
		return err
	}
	defer p.stop()
	n.Say("master %d, workers %v, blocked in accept(2) on %s", os.Getpid(), p.pids(), ln.Addr)
	if _, err := peer.Look("nginx"); err == nil {
		dir, err := os.MkdirTemp("", "corofpm-03-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		ngx, err := peer.StartNginx(peer.NginxConfig{Dir: filepath.Join(dir, "nginx"), FastCGI: ln.Addr})
		if err != nil {
			return err
		}
		defer ngx.Stop()
		n.Say("try:")
		n.Say("  curl %s", ngx.URL("/upstream.php"))
		n.Say("  wrk -c 16 -d 10s %s     # %d workers / %s = at most %.0f req/s",
			ngx.URL("/upstream.php"), *workers, cfg.latency, float64(*workers)/cfg.latency.Seconds())
	}
	n.Say("  SCRIPT_NAME=/hello.php REQUEST_METHOD=GET cgi-fcgi -bind -connect %s", ln.Addr)
	n.Say("stop with ^C")
	sig := chapter.WaitForStop()
	n.Say("%v: stopping the workers", sig)
	return nil
}
