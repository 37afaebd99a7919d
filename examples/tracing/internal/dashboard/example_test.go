package dashboard_test

import (
	"encoding/json"
	"fmt"

	"github.com/retrykit/retrykit/examples/tracing/internal/dashboard"
)

// The generated JSON is what Grafana imports: the panels in order, each with its query.
func ExampleJSON() {
	b, err := dashboard.JSON()
	if err != nil {
		panic(err)
	}
	var d struct {
		UID    string `json:"uid"`
		Panels []struct {
			Title string `json:"title"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		panic(err)
	}
	fmt.Println(d.UID)
	for _, p := range d.Panels {
		fmt.Println("-", p.Title)
	}
	// Output:
	// retrykit-retries
	// - Attempts per call
	// - Share of calls that needed a retry
	// - Failures by outcome
	// - Attempt timeouts
	// - p95 backoff delay
	// - Calls by outcome
	// - Hedges per call
	// - Share of calls that hedged
}
