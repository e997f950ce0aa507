// Package myelonprom exports the counters of myelon rings to Prometheus.
//
// A Collector is a prometheus.Collector that, each time it is collected
// (at scrape time), takes a snapshot of every selected ring on the host
// (package snapshot: read only, without the rings' processes' help) and
// exports the metrics of package catalog: each ring's state and
// liveness, published events, back-pressure, parks and wakes, each
// consumer's position, lag and liveness, consumer groups, frame's and
// typed's message counters and errors, and the rings' error logs. A
// scrape never fails because of a ring: one that cannot be read is
// exported with state "unreadable" and the reason, a directory that
// cannot be listed with myelon_exporter_source_readable 0.
//
// Handler serves a registry holding only a Collector, for the /metrics
// endpoint of `myelon exporter --listen ADDR`; to serve the Go runtime's and the
// process's metrics beside them, register a Collector in a registry of
// your own and serve it with promhttp.HandlerFor.
package myelonprom

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/myelon-go/myelon/exporters/catalog"
)

// Collector is a prometheus.Collector of the rings of a catalog.Selection.
// It is safe for concurrent use: each Collect takes its own snapshots. It
// describes every metric it exports (a checked collector), so a registry
// takes one Collector: to export two selections, give each a registry, or
// widen the selection.
type Collector struct {
	sel   catalog.Selection
	descs map[*catalog.Metric]*prometheus.Desc
}

// NewCollector returns a Collector of the rings sel selects.
func NewCollector(sel catalog.Selection) *Collector {
	sel.Dirs, sel.Names = slices.Clone(sel.Dirs), slices.Clone(sel.Names)
	c := &Collector{sel: sel, descs: map[*catalog.Metric]*prometheus.Desc{}}
	for _, m := range catalog.Metrics() {
		c.descs[m] = prometheus.NewDesc(m.PrometheusName(), m.Help, m.Labels, nil)
	}
	return c
}

// Describe sends the descriptions of every metric the Collector exports.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range catalog.Metrics() {
		ch <- c.descs[m]
	}
}

// Collect takes a snapshot of the selected rings and sends their metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range catalog.Read(c.sel) {
		desc := c.descs[s.Metric]
		vt := prometheus.GaugeValue
		if s.Metric.Kind == catalog.Counter {
			vt = prometheus.CounterValue
		}
		m, err := prometheus.NewConstMetric(desc, vt, float64(s.Value), s.Labels...)
		if err != nil {
			m = prometheus.NewInvalidMetric(desc, err) // the registry reports it
		}
		ch <- m
	}
}

// Handler returns an http.Handler that serves the metrics of the rings
// sel selects in Prometheus's exposition formats, for a /metrics
// endpoint. It serves what it could collect even if something failed
// (promhttp.ContinueOnError), and logs nothing. The error is the
// registry's, should it refuse the Collector.
func Handler(sel catalog.Selection) (http.Handler, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(NewCollector(sel)); err != nil {
		return nil, fmt.Errorf("myelonprom: %w", err)
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}), nil
}
