//go:build race

package script

// raceEnabled tells tests that the race detector slows them down.
const raceEnabled = true
