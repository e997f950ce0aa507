package myelonprom_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/myelon-go/myelon/exporters/catalog"
	"github.com/myelon-go/myelon/exporters/myelonprom"
	"github.com/myelon-go/myelon/ring"
)

// Handler serves /metrics for the rings of a selection: here the
// file-backed rings of a directory whose name starts with "ticks" (shm
// rings are always listed too; the prefix filters both). A program serves
// it with http.Handle("/metrics", h) and http.ListenAndServe; the example
// serves it from a test server and prints two of the metrics.
func ExampleHandler() {
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

	h, err := myelonprom.Handler(catalog.Selection{Dirs: []string{dir}, Prefix: "ticks"})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		panic(err)
	}
	for line := range strings.Lines(string(body)) {
		if strings.HasPrefix(line, "myelon_ring_published_total{") || strings.HasPrefix(line, "myelon_ring_alive{") {
			fmt.Print(strings.ReplaceAll(line, dir, "DIR"))
		}
	}
	// Output:
	// myelon_ring_alive{backend="file",layer="ring",ring="DIR/ticks"} 1
	// myelon_ring_published_total{backend="file",layer="ring",ring="DIR/ticks"} 3
}

// A Collector goes in a registry of your own, beside other collectors
// (here the Go runtime's), served with promhttp.HandlerFor. The example
// gathers the registry once and counts the rings it found ready.
func ExampleCollector() {
	dir, err := os.MkdirTemp("", "myelon-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	for _, name := range []string{"app-orders", "app-fills"} {
		p, err := ring.CreateBytes(filepath.Join(dir, name), ring.Config{Backend: ring.File, Capacity: 8, SlotSize: 64})
		if err != nil {
			panic(err)
		}
		defer p.Close()
	}

	reg := prometheus.NewRegistry()
	if err := reg.Register(myelonprom.NewCollector(catalog.Selection{Dirs: []string{dir}, Prefix: "app-"})); err != nil {
		panic(err)
	}
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		panic(err)
	}
	_ = promhttp.HandlerFor(reg, promhttp.HandlerOpts{}) // serve it on /metrics

	fams, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, f := range fams {
		if f.GetName() != "myelon_ring_state" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["state"] == "ready" && m.GetGauge().GetValue() == 1 {
				fmt.Println("ready:", filepath.Base(labels["ring"]))
			}
		}
	}
	// Output:
	// ready: app-fills
	// ready: app-orders
}
