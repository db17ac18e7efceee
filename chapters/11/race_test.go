//go:build race

package main

// raceEnabled: under the race detector every coroutine switch of iter.Pull
// also updates the detector's clocks, which costs more than a channel
// handoff does under it; timing comparisons are skipped.
const raceEnabled = true
