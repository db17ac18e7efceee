package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/corofpm/corofpm/fpm"
	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/tutorial/chapter"
	"github.com/corofpm/corofpm/tutorial/fpmrun"
	"github.com/corofpm/corofpm/tutorial/narrator"
	"github.com/corofpm/corofpm/tutorial/peer"
)

// serve keeps an FPM listening on -listen, with its status page, and nginx
// in front of it, until SIGINT or SIGTERM.
func serve(n *narrator.Narrator, opts *chapter.Options) error {
	n.Title(info.Number, info.Title+" (serving)")
	dir, err := os.MkdirTemp("", "corofpm-06-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var out io.Writer
	if opts.Verbose {
		out = n.Tagged("fpm", 0)
	}
	f, err := startFPM(dir, opts.Listen, poolConf(settingsFor(false)), out)
	if err != nil {
		return err
	}
	defer f.Stop(5 * time.Second)
	workers, _ := f.Workers()
	n.Say("master %d, pm = static, workers %v on %s", f.Master.Pid, workers, f.Addr)
	if _, err := peer.Look("nginx"); err == nil {
		ngx, err := peer.StartNginx(peer.NginxConfig{Dir: filepath.Join(dir, "nginx"), FastCGI: f.Addr})
		if err != nil {
			return err
		}
		defer ngx.Stop()
		n.Say("nginx %d in front; try:", ngx.Pid)
		n.Say("  curl %s", ngx.URL("/status.php"))
		n.Say("  curl '%s'", ngx.URL("/status.php?full"))
		n.Say("  curl '%s'", ngx.URL("/status.php?json"))
		n.Say("  curl '%s' &   # then ask the status page again: one worker Running", ngx.URL("/sleep.php?ms=5000"))
		n.Say("  watch -n 0.5 curl -s '%s'", ngx.URL("/status.php?full"))
	}
	n.Say("  SCRIPT_NAME=/status.php SCRIPT_FILENAME=/status.php REQUEST_METHOD=GET cgi-fcgi -bind -connect %s", f.Addr)
	n.Say("stop with ^C")
	sig := chapter.WaitForStop()
	n.Say("%v: stopping the FPM (SIGQUIT, graceful) and nginx", sig)
	return nil
}

// startFPM is fpmrun.Start on a given address: it writes the configuration
// with listen = addr and starts the master, as the reader's -listen asks.
func startFPM(dir, addr, pool string, out io.Writer) (*fpmrun.FPM, error) {
	f := &fpmrun.FPM{Dir: dir, Addr: addr, Conf: filepath.Join(dir, "fpm.conf"), Log: filepath.Join(dir, "fpm.log")}
	conf := fmt.Sprintf("[global]\npid = fpm.pid\nerror_log = fpm.log\ndaemonize = no\n\n[www]\nlisten = %s\n%s\n", addr, pool)
	if err := os.WriteFile(f.Conf, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	var err error
	if f.Master, err = proc.Start(proc.Spec{Role: fpm.MasterRole, Args: []string{f.Conf}, Stdout: out, Stderr: out}); err != nil {
		return nil, err
	}
	if _, err := f.WaitLog("ready to handle connections", 15*time.Second); err != nil {
		f.Kill()
		return nil, err
	}
	return f, nil
}
