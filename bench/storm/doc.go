// Package storm is the retry storm lab: it measures what retries cost the service they
// retry against. Many simulated clients call a shared, capacity-limited service through
// retrykit's own retry.Policy, backoffs and retry.Budget, in virtual time
// (testing/synctest), so that minutes of simulated traffic take a second or two.
//
// Three scenarios, each a test that prints its table and asserts its qualitative result:
//
//   - TestStormJitter: the simulation of the AWS Architecture Blog's "Exponential Backoff
//     And Jitter" (2015): clients contending to update one row under optimistic
//     concurrency, with no jitter, full, equal and decorrelated jitter;
//   - TestStormOutage: 1,000 clients at a steady rate, a service that fails everything
//     for 10 s and then recovers with a fixed capacity, with and without a retry budget
//     (the Google SRE book, "Handling Overload");
//   - TestStormLayers: three layers of MaxTries(3) over a failing service.
//
// Run it from the repository root:
//
//	go test ./bench/storm -run Storm -v -count=1
//
// and add -storm.write to rewrite bench/STORM.md with the run. -storm.seed seeds every
// random draw: the network delays, the clients' phases, the requests' offsets and,
// through FullJitterFrom, EqualJitterFrom and DecorrelatedFrom, the jittered pauses, so
// that a seed gives the same tables to the digit on every run. See bench/STORM.md for the
// method and a committed run compared with the two sources.
package storm
