package grafana

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/myelon-go/myelon/exporters/catalog"
)

var (
	metricRe   = regexp.MustCompile(`\bmyelon_[a-z0-9_]+`)
	selectorRe = regexp.MustCompile(`\b(myelon_[a-z0-9_]+)\{([^}]*)\}`)
	matcherRe  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
	groupingRe = regexp.MustCompile(`\b(?:by|on|without|ignoring|group_left|group_right)\s*\(([^)]*)\)`)
	legendRe   = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)
)

// query is one PromQL query of the dashboard, with its legend.
type query struct{ where, expr, legend string }

// TestDashboard_Metrics: every metric the dashboard queries is one the
// exporters export, with the labels they give it (in selectors,
// groupings and legends), and the dashboard shows the metrics an
// operator needs: published events and messages, lag, back-pressure,
// parks and wakes, liveness, state, the error log and the NATS bridges'
// messages and errors.
func TestDashboard_Metrics(t *testing.T) {
	var d map[string]any
	if err := json.Unmarshal(Dashboard(), &d); err != nil {
		t.Fatal(err)
	}
	known := map[string]*catalog.Metric{}
	for _, m := range catalog.Metrics() {
		known[m.PrometheusName()] = m
	}
	queries := queries(d, "dashboard")
	if len(queries) < 20 {
		t.Fatalf("found %d queries in the dashboard", len(queries))
	}
	used := map[string]bool{}
	for _, q := range queries {
		var labels []string // of the metrics the query uses
		for _, name := range metricRe.FindAllString(q.expr, -1) {
			m, ok := known[name]
			if !ok {
				t.Errorf("%s: %s is not exported", q.where, name)
				continue
			}
			used[name] = true
			labels = append(labels, m.Labels...)
		}
		for _, sel := range selectorRe.FindAllStringSubmatch(q.expr, -1) {
			for _, l := range matcherRe.FindAllStringSubmatch(sel[2], -1) {
				if m := known[sel[1]]; m != nil && !slices.Contains(m.Labels, l[1]) {
					t.Errorf("%s: %s has no label %s", q.where, sel[1], l[1])
				}
			}
		}
		var grouped []string
		for _, g := range groupingRe.FindAllStringSubmatch(q.expr, -1) {
			for l := range strings.SplitSeq(g[1], ",") {
				l = strings.TrimSpace(l)
				grouped = append(grouped, l)
				if !slices.Contains(labels, l) {
					t.Errorf("%s: groups by %s, a label of none of its metrics", q.where, l)
				}
			}
		}
		if strings.Contains(q.expr, " by (") {
			labels = grouped // an aggregation keeps only these
		}
		for _, l := range legendRe.FindAllStringSubmatch(q.legend, -1) {
			if !slices.Contains(labels, l[1]) {
				t.Errorf("%s: legend %q names %s, not a label of its result", q.where, q.legend, l[1])
			}
		}
	}
	for _, name := range []string{
		"myelon_ring_published_total", "myelon_frame_producer_messages_total", "myelon_consumer_lag",
		"myelon_consumer_lag_max", "myelon_ring_full_waits_total", "myelon_ring_producer_parks_total",
		"myelon_ring_producer_wakes_total", "myelon_consumer_parks_total", "myelon_ring_alive",
		"myelon_consumer_alive", "myelon_ring_state", "myelon_ring_errors_total", "myelon_ring_unreadable",
		"myelon_bridge_inbound_written_total", "myelon_bridge_outbound_published_total", "myelon_bridge_outbound_errors_total",
	} {
		if !used[name] {
			t.Errorf("the dashboard does not show %s", name)
		}
	}
}

// TestDashboard_Panels: panel ids are unique and every query panel uses
// the data source variable.
func TestDashboard_Panels(t *testing.T) {
	var d struct {
		Panels []struct {
			ID         int    `json:"id"`
			Type       string `json:"type"`
			Title      string `json:"title"`
			Datasource struct {
				UID string `json:"uid"`
			} `json:"datasource"`
			Targets []struct {
				Datasource struct {
					UID string `json:"uid"`
				} `json:"datasource"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(Dashboard(), &d); err != nil {
		t.Fatal(err)
	}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d repeated", p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: data source %q, %d queries", p.Title, p.Datasource.UID, len(p.Targets))
		}
		for _, q := range p.Targets {
			if q.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q: a query's data source is %q", p.Title, q.Datasource.UID)
			}
		}
	}
}

// queries finds the PromQL of the dashboard: the expr of every query
// and the query of every variable.
func queries(v any, where string) []query {
	var out []query
	switch v := v.(type) {
	case map[string]any:
		if title, ok := v["title"].(string); ok {
			where = title
		}
		if e, ok := v["expr"].(string); ok {
			l, _ := v["legendFormat"].(string)
			out = append(out, query{where, e, l})
		}
		if e, ok := v["definition"].(string); ok {
			out = append(out, query{where, e, ""})
		}
		for _, x := range v {
			out = append(out, queries(x, where)...)
		}
	case []any:
		for _, x := range v {
			out = append(out, queries(x, where)...)
		}
	}
	return out
}
