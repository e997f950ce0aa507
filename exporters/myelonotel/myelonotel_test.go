package myelonotel_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/myelon-go/myelon/exporters/catalog"
	"github.com/myelon-go/myelon/exporters/internal/workload"
	"github.com/myelon-go/myelon/exporters/myelonotel"
)

// TestRegister_Collect collects, with the SDK's ManualReader, the metrics
// of a known workload's shm rings and checks the instruments' kinds and
// units and the exact values, then that an unregistered bridge observes
// nothing more.
func TestRegister_Collect(t *testing.T) {
	rs := workload.Run(t)
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())
	reg, err := myelonotel.Register(provider.Meter("myelon"), catalog.Selection{Names: []string{rs.Ring, rs.Frame, rs.Bridge}})
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, reader)

	kinds := map[string]catalog.Kind{}
	for _, m := range catalog.Metrics() {
		kinds[m.OTelName()] = m.Kind
	}
	for name, m := range got {
		kind, ok := kinds[name]
		if !ok {
			t.Errorf("collected %s, not in the catalog", name)
			continue
		}
		switch d := m.Data.(type) {
		case metricdata.Sum[int64]:
			if kind != catalog.Counter || !d.IsMonotonic || d.Temporality != metricdata.CumulativeTemporality {
				t.Errorf("%s: a sum (monotonic %v, %s) for a %v", name, d.IsMonotonic, d.Temporality, kind)
			}
		case metricdata.Gauge[int64]:
			if kind != catalog.Gauge {
				t.Errorf("%s: a gauge for a counter", name)
			}
		default:
			t.Errorf("%s: data %T", name, m.Data)
		}
	}
	if u := got["myelon.frame.producer.bytes"].Unit; u != "By" {
		t.Errorf("myelon.frame.producer.bytes has unit %q, want By", u)
	}

	r := []attribute.KeyValue{attribute.String("ring", rs.Ring), attribute.String("backend", "shm"), attribute.String("layer", "ring")}
	c := append(r[:3:3], attribute.String("consumer", workload.RingConsumer), attribute.String("group", ""))
	fr := []attribute.KeyValue{attribute.String("ring", rs.Frame), attribute.String("backend", "shm"), attribute.String("layer", "frame")}
	fc := append(fr[:3:3], attribute.String("consumer", workload.FrameConsumer), attribute.String("group", ""))
	br := []attribute.KeyValue{attribute.String("ring", rs.Bridge), attribute.String("backend", "shm"), attribute.String("layer", "frame")}
	bc := append(br[:3:3], attribute.String("consumer", workload.BridgeConsumer), attribute.String("group", ""))
	for _, w := range []struct {
		name  string
		attrs []attribute.KeyValue
		want  int64
	}{
		{"myelon.exporter.source_readable", []attribute.KeyValue{attribute.String("source", "shm")}, 1},
		{"myelon.ring.state", append(r[:3:3], attribute.String("state", "ready")), 1},
		{"myelon.ring.alive", r, 1},
		{"myelon.ring.published", r, workload.Events},
		{"myelon.consumer.alive", c, 1},
		{"myelon.consumer.position", c, workload.Consumed - 1},
		{"myelon.consumer.lag", c, workload.Events - workload.Consumed},
		{"myelon.consumer.lag_max", c, workload.Events},
		{"myelon.ring.published", fr, workload.Fragments},
		{"myelon.frame.producer.messages", fr, int64(len(workload.MessageSizes))},
		{"myelon.frame.producer.bytes", fr, workload.Bytes},
		{"myelon.frame.consumer.messages", fc, int64(len(workload.MessageSizes))},
		{"myelon.frame.consumer.fragments", fc, workload.Fragments},
		{"myelon.frame.consumer.bytes", fc, workload.Bytes},
		{"myelon.frame.consumer.reassembly_errors", fc, 0},
		{"myelon.bridge.inbound.written", br, int64(workload.Inbound.Written)},
		{"myelon.bridge.inbound.lost", br, int64(workload.Inbound.Lost)},
		{"myelon.bridge.outbound.published", bc, int64(workload.Outbound.Published)},
		{"myelon.bridge.outbound.republished", bc, int64(workload.Outbound.Republished)},
	} {
		if v, ok := value(got[w.name], attribute.NewSet(w.attrs...)); !ok {
			t.Errorf("%s %v: not collected", w.name, w.attrs)
		} else if v != w.want {
			t.Errorf("%s %v = %d, want %d", w.name, w.attrs, v, w.want)
		}
	}

	if err := reg.Unregister(); err != nil {
		t.Fatal(err)
	}
	for name, m := range collect(t, reader) {
		if points(m) != 0 {
			t.Errorf("%s observed after Unregister", name)
		}
	}
}

// collect collects the reader's metrics, by name.
func collect(t *testing.T, reader *sdkmetric.ManualReader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// value is the value of m's data point with exactly the attributes set.
func value(m metricdata.Metrics, set attribute.Set) (int64, bool) {
	var dps []metricdata.DataPoint[int64]
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		dps = d.DataPoints
	case metricdata.Gauge[int64]:
		dps = d.DataPoints
	}
	for _, dp := range dps {
		if dp.Attributes.Equals(&set) {
			return dp.Value, true
		}
	}
	return 0, false
}

func points(m metricdata.Metrics) int {
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		return len(d.DataPoints)
	case metricdata.Gauge[int64]:
		return len(d.DataPoints)
	}
	return 0
}
