//go:build race

package ui

// raceEnabled: the race detector slows everything down five to ten times, so timing bounds are
// not checked (the walk still runs, for the detector).
const raceEnabled = true
