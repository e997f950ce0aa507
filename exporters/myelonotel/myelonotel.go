// Package myelonotel bridges the counters of myelon rings to
// OpenTelemetry metrics.
//
// Register creates, on a metric.Meter, one observable instrument for each
// metric of package catalog (an Int64ObservableCounter for a counter, an
// Int64ObservableGauge for a gauge, named by Metric.OTelName, with its
// description and unit) and one callback for all of them. At each
// collection the callback takes a snapshot of every selected ring on the
// host (package snapshot: read only, without the rings' processes' help)
// and observes the same values, with the same attributes, as the
// Prometheus collector of package myelonprom exports. Through
// OpenTelemetry's Prometheus exporter the instruments keep the
// collector's names (myelon.consumer.lag becomes myelon_consumer_lag,
// myelon.ring.published myelon_ring_published_total), so the Grafana
// dashboard committed beside this package works with either.
//
// A collection never fails because of a ring: one that cannot be read is
// observed with state "unreadable" and the reason, a directory that
// cannot be listed as myelon.exporter.source_readable 0.
package myelonotel

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/myelon-go/myelon/exporters/catalog"
)

// Register registers the instruments of the catalog's metrics on meter,
// and a callback that observes the metrics of the rings sel selects each
// time the meter's provider collects. Unregister the returned
// registration to stop observing. An error is the meter's (an instrument
// or the callback it refused); then no callback is registered.
func Register(meter metric.Meter, sel catalog.Selection) (metric.Registration, error) {
	sel.Dirs, sel.Names = slices.Clone(sel.Dirs), slices.Clone(sel.Names)
	insts := map[*catalog.Metric]metric.Int64Observable{}
	var all []metric.Observable
	var errs []error
	for _, m := range catalog.Metrics() {
		inst, err := instrument(meter, m)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		insts[m] = inst
		all = append(all, inst)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("myelonotel: %w", err)
	}
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for _, s := range catalog.Read(sel) {
			attrs := make([]attribute.KeyValue, len(s.Labels))
			for i, v := range s.Labels {
				attrs[i] = attribute.String(s.Metric.Labels[i], v)
			}
			o.ObserveInt64(insts[s.Metric], s.Value, metric.WithAttributes(attrs...))
		}
		return nil
	}, all...)
	if err != nil {
		return nil, fmt.Errorf("myelonotel: %w", err)
	}
	return reg, nil
}

// instrument creates the observable instrument of metric m.
func instrument(meter metric.Meter, m *catalog.Metric) (metric.Int64Observable, error) {
	if m.Kind == catalog.Counter {
		return meter.Int64ObservableCounter(m.OTelName(), metric.WithDescription(m.Help), metric.WithUnit(m.Unit))
	}
	return meter.Int64ObservableGauge(m.OTelName(), metric.WithDescription(m.Help), metric.WithUnit(m.Unit))
}
