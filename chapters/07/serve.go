package main

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/fpmrun"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/corofpm/corofpm/tutorial/peer"
)

// servePool is the pool -serve keeps up. nginx here passes only *.php to
// FastCGI, so the status and ping pages end in .php.
const servePool = `pm = dynamic
pm.max_children = 16
pm.start_servers = 4
pm.min_spare_servers = 4
pm.max_spare_servers = 6
pm.status_path = /status.php
ping.path = /ping.php
ping.response = pong
request_slowlog_timeout = 5s
request_terminate_timeout = 20s
slowlog = slow.log
`

// serve keeps a dynamic pool up behind nginx until SIGINT or SIGTERM,
// printing its master's log as it grows.
func serve(n *narrator.Narrator, opts *chapter.Options) error {
	n.Title(info.Number, info.Title+" (serving)")
	dir, err := os.MkdirTemp("", "corofpm-07-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fdir, err := subdir(dir, "fpm")
	if err != nil {
		return err
	}
	f, err := fpmrun.StartOn(fdir, opts.Listen, servePool, nil)
	if err != nil {
		return err
	}
	stopTail := tail(n, f)
	ngx, err := peer.StartNginx(peer.NginxConfig{Dir: filepath.Join(dir, "nginx"), FastCGI: f.Addr})
	if err != nil {
		f.Kill()
		stopTail()
		return err
	}
	pid := f.Master.Pid
	n.Say("master pid %d, pool www on %s, pm = dynamic (4 to 6 spare, at most 16); nginx pid %d", pid, f.Addr, ngx.Pid)
	n.Say("its configuration: %s", f.Conf)
	n.Say("try:")
	n.Say("  curl %s", ngx.URL("/hello.php"))
	n.Say("  curl '%s'", ngx.URL("/status.php?full"))
	n.Say("  for i in $(seq 12); do curl -s '%s' & done   # watch the pool grow", ngx.URL("/sleep.php?ms=4000"))
	n.Say("  curl '%s'   # past request_slowlog_timeout: see %s", ngx.URL("/sleep.php?ms=6000"), filepath.Join(fdir, "slow.log"))
	n.Say("  kill -USR2 %d   # reload: new workers, same socket;  -USR1 reopen logs;  -QUIT stop", pid)
	n.Say("stop with ^C")
	sig := chapter.WaitForStop()
	n.Say("%v: stopping nginx, then the FPM gracefully (SIGQUIT)", sig)
	ngx.Stop()
	_, err = f.Stop(10 * time.Second)
	stopTail()
	return err
}

// tail prints the master's log lines as they come, until stop is called;
// stop prints the last ones first.
func tail(n *narrator.Narrator, f *fpmrun.FPM) (stop func()) {
	done, quit := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		seen := len(f.LogText())
		for {
			var last bool
			select {
			case <-quit:
				last = true
			case <-time.After(200 * time.Millisecond):
			}
			log := f.LogText()
			if len(log) < seen {
				seen = 0 // reopened after a rename
			}
			if end := strings.LastIndexByte(log, '\n') + 1; end > seen {
				for _, line := range strings.Split(strings.TrimSuffix(log[seen:end], "\n"), "\n") {
					n.From("master", f.Master.Pid, "%s", line)
				}
				seen = end
			}
			if last {
				return
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}
