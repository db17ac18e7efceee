package reactor

import (
	"os"
	"os/signal"
)

// OnSignal calls f on the loop's thread with each of sigs that arrives,
// from the call until the loop stops.
//
// A C reactor would use signalfd(2): block the signals, and read them
// from an fd in the epoll set. That needs the signals blocked in every
// thread of the process, and the Go runtime owns its threads and their
// masks. So the runtime's own signal handler takes the signal, os/signal
// passes it to a channel, and a goroutine hands it to the loop through
// Wake: the eventfd stands in for the signalfd.
func (l *Loop) OnSignal(f func(os.Signal), sigs ...os.Signal) {
	ch := make(chan os.Signal, 8)
	signal.Notify(ch, sigs...)
	l.signals = append(l.signals, ch)
	go func() {
		for sig := range ch {
			l.Wake(func() { f(sig) })
		}
	}()
}

// stopSignals ends every OnSignal: after signal.Stop no more signals are
// sent to the channel, so it can be closed, which ends its goroutine.
func (l *Loop) stopSignals() {
	for _, ch := range l.signals {
		signal.Stop(ch)
		close(ch)
	}
	l.signals = nil
}
