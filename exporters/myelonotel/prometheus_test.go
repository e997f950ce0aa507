package myelonotel_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/myelon-go/myelon/exporters/catalog"
	"github.com/myelon-go/myelon/exporters/internal/workload"
	"github.com/myelon-go/myelon/exporters/myelonotel"
	"github.com/myelon-go/myelon/exporters/myelonprom"
)

// TestPrometheusTranslation: the bridge's metrics, exported through
// OpenTelemetry's Prometheus exporter (its default translation, without
// scope labels), are exactly the Prometheus collector's: the same names,
// label sets and values, so one dashboard serves both.
func TestPrometheusTranslation(t *testing.T) {
	rs := workload.Run(t)
	sel := catalog.Selection{Names: []string{rs.Ring, rs.Frame, rs.Bridge}}

	viaOTel := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(viaOTel), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		t.Fatal(err)
	}
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	defer provider.Shutdown(context.Background())
	if _, err := myelonotel.Register(provider.Meter("myelon"), sel); err != nil {
		t.Fatal(err)
	}
	direct := prometheus.NewRegistry()
	if err := direct.Register(myelonprom.NewCollector(sel)); err != nil {
		t.Fatal(err)
	}

	want, got := series(t, direct), series(t, viaOTel)
	if len(want) < 50 {
		t.Fatalf("the collector exported only %d series", len(want))
	}
	for _, s := range want {
		if !slices.Contains(got, s) {
			t.Errorf("collector's %s: not exported through OpenTelemetry", s)
		}
	}
	for _, s := range got {
		if !slices.Contains(want, s) {
			t.Errorf("OpenTelemetry's %s: not the collector's", s)
		}
	}
}

// series gathers g and returns its series as "name{labels} type value",
// sorted.
func series(t *testing.T, g prometheus.Gatherer) []string {
	t.Helper()
	fams, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			slices.Sort(ls)
			v := m.GetGauge().GetValue()
			if f.GetType() == dto.MetricType_COUNTER {
				v = m.GetCounter().GetValue()
			}
			out = append(out, fmt.Sprintf("%s{%s} %s %g", f.GetName(), strings.Join(ls, ","), f.GetType(), v))
		}
	}
	slices.Sort(out)
	return out
}
