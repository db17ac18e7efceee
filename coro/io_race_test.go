//go:build race

package coro

// raceEnabled: the race detector multiplies memory and time, so tests
// that measure either skip.
const raceEnabled = true
