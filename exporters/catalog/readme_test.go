package catalog

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// The README's table of metrics lies between these lines.
const (
	tableStart = "<!-- metrics table: written from catalog.Metrics, checked by TestREADME_Table -->"
	tableEnd   = "<!-- end of metrics table -->"
)

// TestREADME_Table: the module README's table of metrics is the
// catalog's, so that it cannot drift from what the exporters export.
func TestREADME_Table(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok1 := strings.Cut(string(b), tableStart+"\n")
	got, _, ok2 := strings.Cut(rest, tableEnd)
	if !ok1 || !ok2 {
		t.Fatalf("README.md has no table between %q and %q", tableStart, tableEnd)
	}
	if want := table(); got != want {
		t.Errorf("README.md's table of metrics is not the catalog's; it should read:\n%s", want)
	}
}

// table is the README's table of the metrics.
func table() string {
	var b strings.Builder
	b.WriteString("| Prometheus name | OpenTelemetry name | type | labels | meaning |\n| --- | --- | --- | --- | --- |\n")
	for _, m := range Metrics() {
		kind := "gauge"
		if m.Kind == Counter {
			kind = "counter"
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s | %s |\n", m.PrometheusName(), m.OTelName(), kind, strings.Join(m.Labels, ", "), m.Help)
	}
	return b.String()
}
