package myelonotel_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/myelon-go/myelon/exporters/catalog"
	"github.com/myelon-go/myelon/exporters/myelonotel"
	"github.com/myelon-go/myelon/ring"
)

// Register the bridge on a meter of your MeterProvider: each collection
// (a PeriodicReader's export to OTLP, a Prometheus exporter's scrape)
// then reads the selected rings. The example collects once with a
// ManualReader and prints the events published to a file-backed ring.
func ExampleRegister() {
	dir, err := os.MkdirTemp("", "myelon-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	p, err := ring.CreateBytes(filepath.Join(dir, "ticks"), ring.Config{Backend: ring.File, Capacity: 8, SlotSize: 64})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	for i := range 3 {
		if _, err := p.Send(context.Background(), []byte{byte(i)}); err != nil {
			panic(err)
		}
	}

	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())
	reg, err := myelonotel.Register(provider.Meter("github.com/myelon-go/myelon"), catalog.Selection{Dirs: []string{dir}, Names: []string{"ticks"}})
	if err != nil {
		panic(err)
	}
	defer reg.Unregister()

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		panic(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if m.Name != "myelon.ring.published" || !ok {
				continue
			}
			for _, dp := range sum.DataPoints {
				name, _ := dp.Attributes.Value("ring")
				fmt.Println(m.Name, strings.ReplaceAll(name.AsString(), dir, "DIR"), dp.Value)
			}
		}
	}
	// Output:
	// myelon.ring.published DIR/ticks 3
}
