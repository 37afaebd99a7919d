//go:build race

package retryhttp_test

// raceEnabled: the race detector's runtime allocates now and then on its own, so that
// allocation counts vary by one from run to run.
const raceEnabled = true
