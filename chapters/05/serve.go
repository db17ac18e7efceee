package main

import (
	"os"
	"path/filepath"

	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/fpmrun"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/corofpm/corofpm/tutorial/peer"
)

// serve runs the FPM on -listen behind nginx until SIGINT or SIGTERM, and
// says which signals to send it.
func serve(n *narrator.Narrator, opts *chapter.Options) error {
	n.Title(info.Number, info.Title+" (serving)")
	if _, err := peer.Look("nginx"); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "corofpm-05-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	f, err := fpmrun.StartOn(dir, opts.Listen, pool, nil)
	if err != nil {
		return err
	}
	s := &stack{fpm: f}
	if s.ngx, err = peer.StartNginx(peer.NginxConfig{Dir: filepath.Join(dir, "nginx"), FastCGI: f.Addr}); err != nil {
		f.Kill()
		return err
	}
	defer s.stop()
	workers, err := idleWorkers(s, 4)
	if err != nil {
		return err
	}
	n.Say("master %d, workers %v on %s; nginx %d on 127.0.0.1:%d", f.Master.Pid, workers, f.Addr, s.ngx.Pid, s.ngx.Port)
	n.Say("try:")
	n.Say("  curl %s", s.ngx.URL("/hello.php"))
	n.Say("  curl '%s'", s.ngx.URL("/status?full"))
	n.Say("  tail -f %s", f.Log)
	n.Say("  kill -9 <a worker pid>    # reaped and replaced")
	n.Say("  kill -USR1 %d          # reopen the log, recycle the workers", f.Master.Pid)
	n.Say("  wrk -c 8 -d 20s '%s' & sleep 5; kill -USR2 %d   # reload under load: count the errors", s.ngx.URL("/sleep.php?ms=10"), f.Master.Pid)
	n.Say("  kill -QUIT %d          # graceful stop (this program then waits for ^C)", f.Master.Pid)
	n.Say("stop with ^C")
	sig := chapter.WaitForStop()
	n.Say("%v: stopping the FPM and nginx", sig)
	if _, exited, _ := f.Master.TryWait(); exited {
		s.reaped = true // stopped by hand (kill -QUIT): nothing to signal
	}
	return s.stop()
}
