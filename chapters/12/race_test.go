//go:build race

package main

// raceEnabled: the race detector slows every coroutine switch and every
// allocation, so memory figures are not compared under it.
const raceEnabled = true
