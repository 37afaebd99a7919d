//go:build race

package storm

// raceEnabled: the race detector slows the simulation about tenfold, so the tests run
// reduced sizes, which keep every qualitative result.
const raceEnabled = true
