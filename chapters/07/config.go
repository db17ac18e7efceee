package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/corofpm/corofpm/fpm/config"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

// configResult is what php-fpm -t said about the two files.
type configResult struct {
	Good, Broken string // the verdicts, as printed
	GoodErr      error  // nil: the good file passed
	BrokenErrors int    // problems found in the broken file
}

// ANCHOR: conf
// threePools is a php-fpm.conf with the three pools of step 2: the
// process manager is chosen per pool.
func threePools(cfg settings) string {
	return "[global]\npid = fpm.pid\nerror_log = fpm.log\n\n" +
		"[static]\nlisten = 127.0.0.1:9071\n" + cfg.static + "\n" +
		"[dynamic]\nlisten = 127.0.0.1:9072\n" + cfg.dynamic + "\n" +
		"[ondemand]\nlisten = 127.0.0.1:9073\n" + cfg.ondemand
}

// brokenPools has mistakes php-fpm refuses, each on its own line.
const brokenPools = `[global]
error_log = fpm.log

[dynamic]
listen = 127.0.0.1:9072
pm = dynamic
pm.max_children = 8
pm.start_servers = 16
pm.min_spare_servers = 16
pm.max_spare_servers = 24
request_slowlog_timeout = 5s

[ondemand]
listen = 127.0.0.1:9072
pm = ondemand
pm.max_children = 8
pm.process_idle_timeout = 0
`

// ANCHOR_END: conf

// testConfigs writes both files and prints the verdicts of config.Test,
// which checks as php-fpm -t does, with its messages.
func testConfigs(n *narrator.Narrator, dir string, cfg settings) (res configResult, err error) {
	good, broken := filepath.Join(dir, "php-fpm.conf"), filepath.Join(dir, "broken.conf")
	if err := os.WriteFile(good, []byte(threePools(cfg)), 0o644); err != nil {
		return res, err
	}
	if err := os.WriteFile(broken, []byte(brokenPools), 0o644); err != nil {
		return res, err
	}
	n.Say("one php-fpm.conf, three pools; the process manager is a pool's choice:")
	for _, line := range strings.Split(strings.TrimSpace(threePools(cfg)), "\n") {
		n.Say("  %s", line)
	}
	res.Good, res.GoodErr = config.Test(good)
	res.Broken, err = config.Test(broken)
	if err == nil {
		return res, errors.New("the broken configuration passed its test")
	}
	res.BrokenErrors = len(config.Errors(err))
	n.Say("corofpm -t -y php-fpm.conf (config.Test, php-fpm -t's checks and messages):")
	sayLines(n, res.Good, dir)
	n.Say("the same on a file with a dynamic pool larger than its max_children, a")
	n.Say("slowlog timeout without a slowlog, two pools on one port and an idle timeout of 0:")
	sayLines(n, res.Broken, dir)
	n.Say("every pool here gets its own master in what follows, so that each pool's")
	n.Say("workers are simply that master's children, counted from /proc")
	return res, nil
}

// sayLines prints text indented, with the temporary directory shortened.
func sayLines(n *narrator.Narrator, text, dir string) {
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		n.Say("  %s", strings.ReplaceAll(line, dir+string(filepath.Separator), ""))
	}
}
