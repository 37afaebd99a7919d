// Package bench measures what a retry wrapper costs on the hot path, retrykit side by
// side with the libraries users would pick instead, and what tracing a call costs.
//
// Everything lives in the package's tests: one file per library (retrykit_test.go,
// avast_test.go, cenkalti7_test.go, cenkalti5_test.go, sethvargo_test.go,
// failsafe_test.go), the hand-written baselines in direct_test.go and otel_test.go, and
// the scenarios, which run every library the same way, in scenario_test.go; scenario
// G, gRPC calls on a loopback connection, in grpc_test.go. The
// benchmarks check after their loop that they did what they claim (attempt counts, the
// timeout really set on the attempt's context); the tests run each scenario a few times
// and check the same claims, so that `go test` without -bench exercises every path.
//
// cmd/report runs the benchmarks with -benchmem and benchstat and writes RESULTS.md; see
// README.md.
package bench
