package main

import (
	"errors"
	"os"
	"path/filepath"
)

// sideRuns are steps 4 to 6, each on a master of its own, measured while
// step 2 runs and printed after it.
type sideRuns struct {
	done    chan error
	recycle recycleResult
	timeout timeoutResult
	crash   crashResult
}

func startSide(dir string, cfg settings) *sideRuns {
	s := &sideRuns{done: make(chan error, 3)}
	go func() {
		var err error
		s.recycle, err = measureRecycle(dir, cfg)
		s.done <- err
	}()
	go func() {
		var err error
		s.timeout, err = measureTimeout(dir)
		s.done <- err
	}()
	go func() {
		var err error
		s.crash, err = measureCrash(dir)
		s.done <- err
	}()
	return s
}

// wait waits for the three and returns their errors.
func (s *sideRuns) wait() error {
	var errs []error
	for range 3 {
		errs = append(errs, <-s.done)
	}
	return errors.Join(errs...)
}

// subdir makes dir/name, the home of one master's files.
func subdir(dir, name string) (string, error) {
	path := filepath.Join(dir, name)
	return path, os.Mkdir(path, 0o755)
}
