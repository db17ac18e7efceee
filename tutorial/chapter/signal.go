package chapter

import (
	"os"
	"os/signal"
	"syscall"
)

// stopSignals are the signals that end a -serve run: ^C at the terminal,
// and what kill(1), systemd and docker stop send.
var stopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM}

// WaitForStop blocks until SIGINT or SIGTERM arrives and returns it, so a
// -serve run can shut its workers down in order and narrate it. It then
// restores the default handling of both signals (for the whole program:
// any other Notify on them is undone too), so that if the shutdown hangs,
// a second ^C kills the chapter as the reader expects.
func WaitForStop() os.Signal {
	return waitForStop(func() {})
}

// waitForStop is WaitForStop with a hook called once the signals are
// caught, so that a test sends its signal only when it will be caught
// rather than kill the process.
func waitForStop(caught func()) os.Signal {
	c := make(chan os.Signal, 1)
	signal.Notify(c, stopSignals...)
	caught()
	s := <-c
	signal.Reset(stopSignals...)
	return s
}
