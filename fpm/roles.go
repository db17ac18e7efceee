package fpm

import (
	"fmt"
	"os"

	"github.com/corofpm/corofpm/fpm/config"
	"github.com/corofpm/corofpm/fpm/proc"
	"github.com/corofpm/corofpm/net/fastcgi"
)

// Roles are the child roles of a program that runs an FPM, serving scripts
// h: its workers, and a master run as a child (MasterRole). Pass them to
// proc.Main first thing in main.
func Roles(h fastcgi.Handler) map[string]func(*proc.Child) error {
	return map[string]func(*proc.Child) error{
		WorkerRole: func(c *proc.Child) error { return runWorker(c, h) },
		MasterRole: runMaster,
	}
}

// MasterRole is the role of a master started as a child of a chapter or a
// test, with the configuration file as its one argument. It logs to
// error_log, or to its stderr when none is set.
const MasterRole = "fpm-master"

func runMaster(c *proc.Child) error {
	if len(c.Args) != 1 {
		return fmt.Errorf("want the configuration file as the one argument")
	}
	cfg, err := config.Load(c.Args[0])
	if err != nil {
		return err
	}
	level, err := ParseLevel(cfg.Global.LogLevel)
	if err != nil {
		return err
	}
	log := NewLog(os.Stderr, level)
	if cfg.Global.ErrorLog != "" {
		if log, err = OpenLog(cfg.Global.ErrorLog, level); err != nil {
			return err
		}
	}
	defer log.Close()
	m := &Master{Config: cfg, Log: log, Env: c.Env()}
	return m.Run()
}
