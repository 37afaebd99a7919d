// Package dashboard builds the Grafana dashboard of the retry metrics
// (examples/tracing/dashboard.json) with the Grafana Foundation SDK: one panel for each
// dashboard query of the telemetry reference (docs/telemetry.md), on the Prometheus names that the OpenTelemetry
// Prometheus exporter gives the otelretry instruments, filtered by the
// retry_operation_name template variable.
package dashboard

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Variable is the template variable that every query filters on: the
// retry.operation.name attribute, i.e. the retry policy's Name.
const Variable = "retry_operation_name"

// UID is the dashboard's fixed uid, so that importing it again replaces it.
const UID = "retrykit-retries"

// Panel is one panel of the dashboard.
type Panel struct {
	Title       string
	Description string
	Expr        string // PromQL, with $retry_operation_name where the operation goes
	Legend      string
	Unit        string
}

// op is the label matcher of the template variable (a regex, for "All" and multi-value).
const op = Variable + `=~"$` + Variable + `"`

// Panels are the dashboard's panels: the queries of docs/telemetry.md, each selector
// filtered on the template variable. Every ratio is a ratio of sums by operation, so
// that the series of the different outcomes add up and the le label of a bucket (on one
// side only) is summed out before dividing; le="1" (le="0") is matched as 1 or 1.0, since
// Prometheus 3 writes the bucket bounds of classic histograms as floats.
var Panels = []Panel{
	{
		Title:       "Attempts per call",
		Description: "Mean number of attempts a call made (1 = no retry).",
		Expr: `sum by (retry_operation_name) (rate(retry_call_attempts_sum{` + op + `}[5m]))` +
			` / sum by (retry_operation_name) (rate(retry_call_attempts_count{` + op + `}[5m]))`,
		Legend: "{{retry_operation_name}}",
		Unit:   "short",
	},
	{
		Title:       "Share of calls that needed a retry",
		Description: "Calls that made more than one attempt, out of all calls.",
		Expr: `1 - sum by (retry_operation_name) (rate(retry_call_attempts_bucket{le=~"1|1\\.0", ` + op + `}[5m]))` +
			` / sum by (retry_operation_name) (rate(retry_call_attempts_count{` + op + `}[5m]))`,
		Legend: "{{retry_operation_name}}",
		Unit:   "percentunit",
	},
	{
		Title:       "Failures by outcome",
		Description: "Calls per second that failed, by hooks.Outcome (exhausted, deadline, permanent, ...).",
		Expr:        `sum by (retry_outcome) (rate(retry_call_duration_seconds_count{retry_outcome!="success", ` + op + `}[5m]))`,
		Legend:      "{{retry_outcome}}",
		Unit:        "reqps",
	},
	{
		Title:       "Attempt timeouts",
		Description: "Attempts per second cut short by the policy's AttemptTimeout.",
		Expr:        `sum by (retry_operation_name) (rate(retry_attempt_duration_seconds_count{retry_attempt_outcome="timeout", ` + op + `}[5m]))`,
		Legend:      "{{retry_operation_name}}",
		Unit:        "reqps",
	},
	{
		Title:       "p95 backoff delay",
		Description: "95th percentile of the pauses between attempts (server Retry-After included).",
		Expr:        `histogram_quantile(0.95, sum by (le) (rate(retry_backoff_duration_seconds_bucket{` + op + `}[5m])))`,
		Legend:      "p95",
		Unit:        "s",
	},
	{
		Title:       "Calls by outcome",
		Description: "Calls per second, by hooks.Outcome.",
		Expr:        `sum by (retry_outcome) (rate(retry_call_attempts_count{` + op + `}[5m]))`,
		Legend:      "{{retry_outcome}}",
		Unit:        "reqps",
	},
	// retry.call.hedges has a data point for every call of a hedging policy made with
	// Hedge or HedgeValue (0 hedges included) and none for other calls, so both hedge
	// panels are about the calls that could hedge.
	{
		Title:       "Hedges per call",
		Description: "Mean number of hedges (attempts started because the one before was slow) per call of a hedging policy.",
		Expr: `sum by (retry_operation_name) (rate(retry_call_hedges_sum{` + op + `}[5m]))` +
			` / sum by (retry_operation_name) (rate(retry_call_hedges_count{` + op + `}[5m]))`,
		Legend: "{{retry_operation_name}}",
		Unit:   "short",
	},
	{
		Title:       "Share of calls that hedged",
		Description: "Calls of a hedging policy that started at least one hedge, out of all its calls.",
		Expr: `1 - sum by (retry_operation_name) (rate(retry_call_hedges_bucket{le=~"0|0\\.0", ` + op + `}[5m]))` +
			` / sum by (retry_operation_name) (rate(retry_call_hedges_count{` + op + `}[5m]))`,
		Legend: "{{retry_operation_name}}",
		Unit:   "percentunit",
	},
}

// Build returns the dashboard.
func Build() (dashboard.Dashboard, error) {
	ds := common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}
	b := dashboard.NewDashboardBuilder("retrykit: retries").
		Uid(UID).
		Description("Retry behaviour from the otelretry metrics (retry.call.attempts, retry.call.duration, "+
			"retry.attempt.duration, retry.backoff.duration, retry.call.hedges) as the OpenTelemetry Prometheus "+
			"exporter names them.").
		Tags([]string{"retrykit", "opentelemetry"}).
		Editable().
		Refresh("30s").
		Time("now-30m", "now").
		Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").
			Label("Data source").
			Type("prometheus")).
		WithVariable(dashboard.NewQueryVariableBuilder(Variable).
			Label("Operation").
			Description("The retry policy's Name (retry.operation.name).").
			Datasource(ds).
			Query(dashboard.StringOrMap{String: cog.ToPtr("label_values(retry_call_attempts_count, " + Variable + ")")}).
			Definition("label_values(retry_call_attempts_count, " + Variable + ")").
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
			Sort(dashboard.VariableSortAlphabeticalAsc).
			Multi(true).
			IncludeAll(true).
			AllValue(".*"))
	for i, p := range Panels {
		b = b.WithPanel(timeseries.NewPanelBuilder().
			Id(uint32(i + 1)).
			Title(p.Title).
			Description(p.Description).
			Datasource(ds).
			Unit(p.Unit).
			Min(0).
			Legend(common.NewVizLegendOptionsBuilder().
				ShowLegend(true).
				DisplayMode(common.LegendDisplayModeList).
				Placement(common.LegendPlacementBottom)).
			Tooltip(common.NewVizTooltipOptionsBuilder().
				Mode(common.TooltipDisplayModeMulti).
				Sort(common.SortOrderNone)).
			Span(12).
			Height(8).
			WithTarget(prometheus.NewDataqueryBuilder().
				RefId("A").
				Datasource(ds).
				Expr(p.Expr).
				LegendFormat(p.Legend).
				Range()))
	}
	d, err := b.Build()
	if err != nil {
		return dashboard.Dashboard{}, fmt.Errorf("building the dashboard: %w", err)
	}
	return d, nil
}

// JSON returns the dashboard as Grafana imports it: indented JSON, newline-terminated.
func JSON() ([]byte, error) {
	d, err := Build()
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep PromQL's < and > readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("encoding the dashboard: %w", err)
	}
	return []byte(b.String()), nil
}
