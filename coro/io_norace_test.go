//go:build !race

package coro

const raceEnabled = false
