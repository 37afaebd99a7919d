// Command dashgen writes the Grafana dashboard of the example (go generate in
// examples/tracing runs it): go run ./internal/dashgen -o dashboard.json
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/retrykit/retrykit/examples/tracing/internal/dashboard"
)

func main() {
	out := flag.String("o", "dashboard.json", "output `file`")
	flag.Parse()
	b, err := dashboard.JSON()
	if err == nil {
		err = os.WriteFile(*out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dashgen:", err)
		os.Exit(1)
	}
}
