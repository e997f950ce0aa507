package catalog_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/myelon-go/myelon/exporters/catalog"
	"github.com/myelon-go/myelon/ring"
)

// Read returns the samples that the exporters export; a program can
// export them to a system of its own. Here, a consumer's lag on a
// file-backed ring.
func ExampleRead() {
	dir, err := os.MkdirTemp("", "myelon-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	name := filepath.Join(dir, "ticks")
	p, err := ring.CreateBytes(name, ring.Config{Backend: ring.File, Capacity: 8, SlotSize: 64})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	c, err := ring.AttachBytes(context.Background(), name, ring.ConsumerConfig{Backend: ring.File, ID: "audit"})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	for i := range 5 {
		if _, err := p.Send(context.Background(), []byte{byte(i)}); err != nil {
			panic(err)
		}
	}

	for _, s := range catalog.Read(catalog.Selection{Dirs: []string{dir}, Names: []string{"ticks"}}) {
		if s.Metric.PrometheusName() == "myelon_consumer_lag" {
			fmt.Println(s.Metric.PrometheusName(), s.Metric.Labels[3], s.Labels[3], s.Value)
		}
	}
	// Output:
	// myelon_consumer_lag consumer audit 5
}

// Metrics lists every metric, with its names in both systems.
func ExampleMetrics() {
	for _, m := range catalog.Metrics()[:3] {
		fmt.Println(m.PrometheusName(), m.OTelName(), m.Labels)
	}
	// Output:
	// myelon_exporter_source_readable myelon.exporter.source_readable [source]
	// myelon_ring_state myelon.ring.state [ring backend layer state]
	// myelon_ring_alive myelon.ring.alive [ring backend layer]
}
