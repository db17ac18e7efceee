package main

import (
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/fpmrun"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/corofpm/corofpm/tutorial/peer"
)

// serve keeps the coroutine pool up behind nginx, with its status page and
// the slow upstream, until SIGINT or SIGTERM.
func serve(n *narrator.Narrator, opts *chapter.Options) error {
	cfg := settingsFor(false)
	n.Title(info.Number, info.Title+" (serving)")
	dir, err := os.MkdirTemp("", "corofpm-14-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	up, err := startUpstream(cfg.delay)
	if err != nil {
		return err
	}
	defer up.stop()
	fdir := filepath.Join(dir, "fpm")
	if err := os.Mkdir(fdir, 0o755); err != nil {
		return err
	}
	p := poolsFor(cfg)[1]
	f, err := fpmrun.StartOn(fdir, opts.Listen, p.directives+"ping.path = /ping\n", nil)
	if err != nil {
		return err
	}
	ngx, err := peer.StartNginx(peer.NginxConfig{Dir: filepath.Join(dir, "nginx"), FastCGI: f.Addr})
	if err != nil {
		f.Kill()
		return err
	}
	target := ngx.URL("/upstream.php?url=" + url.QueryEscape(up.url))
	n.Say("master pid %d, pool www on %s: %s", f.Master.Pid, f.Addr, p.describe())
	n.Say("nginx pid %d; the upstream answers after %s", ngx.Pid, cfg.delay)
	n.Say("try:")
	n.Say("  curl %s", ngx.URL("/hello.php"))
	n.Say("  curl '%s'", target)
	n.Say("  curl '%s'", ngx.URL("/status?full"))
	n.Say("  wrk -c %d -d 10s --timeout 10s '%s'   # ≈ %d / %s = %.0f req/s on %d processes",
		cfg.clients, target, cfg.clients, cfg.delay, float64(cfg.clients)/cfg.delay.Seconds(), cfg.workers)
	n.Say("  curl '%s'   # while wrk runs: a slot per request", ngx.URL("/status?full"))
	n.Say("stop with ^C")
	sig := chapter.WaitForStop()
	n.Say("%v: stopping nginx, then the FPM gracefully (SIGQUIT)", sig)
	ngx.Stop()
	_, err = f.Stop(10 * time.Second)
	return err
}
