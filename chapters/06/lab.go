package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/corofpm/corofpm/fpm/scoreboard"
	"github.com/corofpm/corofpm/fpm/shm"
	"github.com/corofpm/corofpm/tutorial/fpmrun"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/corofpm/corofpm/tutorial/peer"
)

// poolConf is the pool of steps 3 and 4, and of -serve. nginx's location
// sends only *.php to FastCGI, so the status page is /status.php (a site
// would add a location for a bare /status).
func poolConf(cfg settings) string {
	return fmt.Sprintf(`pm = static
pm.max_children = 4
pm.status_path = /status.php
request_slowlog_timeout = %ds
slowlog = slow.log
`, int(cfg.slowlog.Seconds()))
}

// lab is an FPM behind nginx, and the FPM's scoreboard mapped here.
type lab struct {
	dir   string
	fpm   *fpmrun.FPM
	ngx   *peer.Nginx
	seg   *shm.Segment
	board *scoreboard.Board
	// boardFd is the master's fd of the scoreboard's memfd.
	boardFd string
}

// startLab starts the FPM and nginx, and opens the master's scoreboard.
func startLab(n *narrator.Narrator, cfg settings) (l *lab, err error) {
	if _, err := peer.Look("nginx"); err != nil {
		return nil, err // it says how to install nginx
	}
	l = &lab{}
	defer func() {
		if err != nil {
			l.stop()
		}
	}()
	if l.dir, err = os.MkdirTemp("", "corofpm-06-"); err != nil {
		return nil, err
	}
	var out io.Writer
	if n.Verbose() {
		out = n.Tagged("fpm", 0)
	}
	if l.fpm, err = fpmrun.Start(l.dir, poolConf(cfg), out); err != nil {
		return nil, err
	}
	if l.ngx, err = peer.StartNginx(peer.NginxConfig{Dir: filepath.Join(l.dir, "nginx"), FastCGI: l.fpm.Addr, Root: "/srv/www"}); err != nil {
		return nil, err
	}
	if err := l.openBoard(); err != nil {
		return nil, err
	}
	workers, _ := l.fpm.Workers()
	n.Say("master pid %d, pm = static, workers %v on %s; nginx pid %d on 127.0.0.1:%d",
		l.fpm.Master.Pid, workers, l.fpm.Addr, l.ngx.Pid, l.ngx.Port)
	n.Say("the scoreboard is the master's memfd, fd %s → /memfd:scoreboard-www (deleted).", l.boardFd)
	n.Say("It has no path, but /proc/%d/fd/%s opens the same file for a process allowed to look", l.fpm.Master.Pid, l.boardFd)
	n.Say("(same user, ptrace read access): this chapter maps it and reads the slots as the master does.")
	return l, nil
}

// ANCHOR: open-board
// openBoard maps the master's scoreboard: it finds the memfd among the
// master's fds and opens it through /proc, which gives a new file
// description of the same memfd, as an inherited fd would.
func (l *lab) openBoard() error {
	dir := fmt.Sprintf("/proc/%d/fd", l.fpm.Master.Pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		target, _ := os.Readlink(filepath.Join(dir, e.Name()))
		if !strings.HasPrefix(target, "/memfd:scoreboard-") {
			continue
		}
		f, err := os.OpenFile(filepath.Join(dir, e.Name()), os.O_RDWR, 0)
		if err != nil {
			return err
		}
		if l.seg, err = shm.Open(f); err != nil {
			return err
		}
		l.boardFd = e.Name()
		l.board, err = scoreboard.Attach(l.seg)
		return err
	}
	return fmt.Errorf("no scoreboard memfd among the fds of master %d", l.fpm.Master.Pid)
}

// ANCHOR_END: open-board

// stop stops what startLab started; it may be called more than once.
func (l *lab) stop() {
	if l.seg != nil {
		l.seg.Close()
		l.seg, l.board = nil, nil
	}
	if l.ngx != nil {
		l.ngx.Stop()
		l.ngx = nil
	}
	if l.fpm != nil {
		l.fpm.Stop(5 * time.Second)
		l.fpm = nil
	}
	if l.dir != "" {
		os.RemoveAll(l.dir)
		l.dir = ""
	}
}
