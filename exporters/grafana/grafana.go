// Package grafana holds a Grafana dashboard of myelon's rings, built on
// the metrics that the exporters export (package catalog): the file
// myelon.json beside this one, for Grafana's dashboard import, and the
// same bytes from Dashboard.
//
// The dashboard has a Prometheus data source variable and a ring
// variable (any number of rings, all by default), and rows of panels:
// liveness and state (rings by state, producers and consumers alive,
// unreadable rings and sources), throughput (published and consumed
// events, frame messages and bytes per second, the NATS bridges' messages
// written, published and acknowledged per second and their duplicates,
// losses and errors), consumers (lag and its
// high-water mark, lag relative to the ring's capacity, lapped and
// abandoned events, consumer groups), back-pressure (full waits, parks,
// wakes and empty waits) and errors (the rings' error logs, frame and
// typed errors, liveness actions). It queries the Prometheus names of
// the catalog, so it serves the Prometheus collector (myelonprom) and the
// OpenTelemetry bridge (myelonotel) exported through OpenTelemetry's
// Prometheus exporter alike; a test checks that every metric and label it
// queries is one the exporters export.
package grafana

import (
	_ "embed" // the dashboard
	"slices"
)

//go:embed myelon.json
var dashboard []byte

// Dashboard returns the dashboard's JSON, as in myelon.json.
func Dashboard() []byte { return slices.Clone(dashboard) }
