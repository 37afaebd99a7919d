package dashboard

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestCommittedDashboardIsGenerated keeps examples/tracing/dashboard.json in step with
// this package: run `go generate ./examples/tracing` after changing it.
func TestCommittedDashboardIsGenerated(t *testing.T) {
	want, err := JSON()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("dashboard.json differs from what internal/dashboard generates: run `go generate ./examples/tracing`")
	}
}

// TestDashboardShape checks what Grafana's import needs and what the queries promise:
// it unmarshals as a dashboard, has the variables, and every panel has one query that
// filters on the operation variable and reads the Prometheus data source variable.
func TestDashboardShape(t *testing.T) {
	b, err := JSON()
	if err != nil {
		t.Fatal(err)
	}
	plugins.RegisterDefaultPlugins()
	var d dashboard.Dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("the dashboard does not unmarshal as a Grafana dashboard: %v", err)
	}
	if d.Uid == nil || *d.Uid != UID || d.Title == nil || *d.Title == "" {
		t.Errorf("uid/title = %v/%v", d.Uid, d.Title)
	}
	var vars []string
	for _, v := range d.Templating.List {
		vars = append(vars, v.Name)
	}
	if strings.Join(vars, ",") != "datasource,"+Variable {
		t.Errorf("template variables = %q, want datasource and %s", vars, Variable)
	}

	var raw struct {
		Panels []struct {
			Title      string `json:"title"`
			Datasource struct {
				UID string `json:"uid"`
			} `json:"datasource"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw.Panels) != len(Panels) {
		t.Fatalf("%d panels, want %d", len(raw.Panels), len(Panels))
	}
	for i, p := range raw.Panels {
		if p.Title != Panels[i].Title {
			t.Errorf("panel %d title %q, want %q", i, p.Title, Panels[i].Title)
		}
		if p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q data source %q, want ${datasource}", p.Title, p.Datasource.UID)
		}
		if len(p.Targets) != 1 {
			t.Errorf("panel %q has %d targets, want 1", p.Title, len(p.Targets))
			continue
		}
		expr := p.Targets[0].Expr
		// Every selector filters on the variable.
		if n, m := strings.Count(expr, "{"), strings.Count(expr, `retry_operation_name=~"$retry_operation_name"`); n != m {
			t.Errorf("panel %q: %d selectors, %d filter on $%s: %s", p.Title, n, m, Variable, expr)
		}
	}
}

// TestTelemetryQueriesCovered checks that each dashboard query of docs/telemetry.md has a
// panel: the metric and the matchers that make it that query.
func TestTelemetryQueriesCovered(t *testing.T) {
	for _, want := range [][]string{
		{"retry_call_attempts_sum", "retry_call_attempts_count"},                                 // attempts per call
		{"1 - ", `retry_call_attempts_bucket{le=~"1|1\\.0"`, "retry_call_attempts_count"},        // needed a retry
		{"sum by (retry_outcome)", `retry_call_duration_seconds_count{retry_outcome!="success"`}, // failures by outcome
		{`retry_attempt_duration_seconds_count{retry_attempt_outcome="timeout"`},                 // attempt timeouts
		{"histogram_quantile(0.95, sum by (le) (rate(retry_backoff_duration_seconds_bucket{"},    // p95 backoff
		{"retry_call_hedges_sum", "retry_call_hedges_count"},                                     // hedges per call
		{"1 - ", `retry_call_hedges_bucket{le=~"0|0\\.0"`, "retry_call_hedges_count"},            // share that hedged
	} {
		found := false
		for _, p := range Panels {
			all := true
			for _, w := range want {
				all = all && strings.Contains(p.Expr, w)
			}
			found = found || all
		}
		if !found {
			t.Errorf("no panel query has all of %q", want)
		}
	}
}

// TestTelemetryQueriesMatchPanels checks the "Dashboard queries" section of
// docs/telemetry.md against the panels, both ways: every query written there is a panel's
// query without the operation filter, word for word, and every panel's query is there.
func TestTelemetryQueriesMatchPanels(t *testing.T) {
	b, err := os.ReadFile("../../../../docs/telemetry.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i := strings.Index(doc, "\n## Dashboard queries\n")
	if i < 0 {
		t.Fatal("docs/telemetry.md has no Dashboard queries section")
	}
	section := doc[i:]
	if j := strings.Index(section[1:], "\n## "); j >= 0 {
		section = section[:j+1]
	}
	documented := map[string]bool{}
	for _, block := range strings.Split(section, "```promql\n")[1:] {
		q, _, ok := strings.Cut(block, "```")
		if !ok {
			t.Fatalf("an unterminated promql block: %q", block)
		}
		documented[strings.Join(strings.Fields(q), " ")] = true
	}
	unfiltered := strings.NewReplacer("{"+op+"}", "", ", "+op, "")
	panels := map[string]string{}
	for _, p := range Panels {
		panels[unfiltered.Replace(p.Expr)] = p.Title
	}
	for q := range documented {
		if _, ok := panels[q]; !ok {
			t.Errorf("docs/telemetry.md documents a query that no panel has:\n%s", q)
		}
	}
	for q, title := range panels {
		if !documented[q] {
			t.Errorf("panel %q's query is not in docs/telemetry.md's Dashboard queries:\n%s", title, q)
		}
	}
}
