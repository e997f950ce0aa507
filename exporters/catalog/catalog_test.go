package catalog

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/model"

	"github.com/myelon-go/myelon/ring"
)

// TestMetrics_Names: every metric has a valid, unique Prometheus name
// (counters ending in _total), a unique OpenTelemetry name, help, valid
// and distinct label names, and a name that ends in its unit (bytes,
// seconds) as Prometheus and OpenTelemetry's translation want.
func TestMetrics_Names(t *testing.T) {
	prom, otel := map[string]bool{}, map[string]bool{}
	for _, m := range Metrics() {
		p := m.PrometheusName()
		if !model.LegacyValidation.IsValidMetricName(p) || prom[p] || otel[m.OTelName()] {
			t.Errorf("%s: invalid or repeated name", p)
		}
		prom[p], otel[m.OTelName()] = true, true
		if (m.Kind == Counter) != strings.HasSuffix(p, "_total") || strings.HasSuffix(m.Name, "total") {
			t.Errorf("%s: a %v", p, m.Kind)
		}
		if m.Help == "" || !strings.HasSuffix(m.Help, ".") {
			t.Errorf("%s: help %q", p, m.Help)
		}
		if (m.Unit == "By") != strings.HasSuffix(m.Name, "bytes") || (m.Unit == "s") != strings.HasSuffix(m.Name, "seconds") {
			t.Errorf("%s: unit %q", p, m.Unit)
		}
		seen := map[string]bool{}
		for _, l := range m.Labels {
			if !model.LegacyValidation.IsValidLabelName(l) || seen[l] {
				t.Errorf("%s: label %q invalid or repeated", p, l)
			}
			seen[l] = true
		}
	}
}

// TestRead_ProducersGroupsErrors reads a multi-producer file-backed ring
// with a consumer group and an error in its log, and checks the
// producer, group and error log metrics, and that every sample has a
// value for each of its metric's labels and is unique.
func TestRead_ProducersGroupsErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	name := filepath.Join(dir, "mp")
	p, err := ring.CreateBytes(name, ring.Config{Backend: ring.File, SlotSize: 64, Capacity: 16, MaxProducers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	q, err := ring.JoinBytes(ctx, name, ring.JoinConfig{Backend: ring.File})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	m, err := ring.AttachBytes(ctx, name, ring.ConsumerConfig{Backend: ring.File, ID: "m1", Group: "g"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for i, n := range []int{3, 2} {
		for range n {
			if _, err := []*ring.BytesProducer{p, q}[i].Send(ctx, []byte{1}); err != nil {
				t.Fatal(err)
			}
		}
	}
	buf := make([]byte, 64)
	for range 2 {
		if _, err := m.Recv(ctx, buf); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.LayerCounters().LogError(ring.ErrorLayer+2, 7); err != nil {
		t.Fatal(err)
	}

	samples := Read(Selection{Dirs: []string{dir}})
	seen := map[string]bool{}
	var producers int64
	got := map[string]int64{}
	for _, s := range samples {
		if len(s.Labels) != len(s.Metric.Labels) {
			t.Fatalf("%s: labels %v for %v", s.Metric.Name, s.Labels, s.Metric.Labels)
		}
		key := s.Metric.Name + "{" + strings.Join(s.Labels, ",") + "}"
		if seen[key] {
			t.Errorf("%s repeated", key)
		}
		seen[key] = true
		if s.Metric.Labels[0] != "ring" || s.Labels[0] != name {
			continue
		}
		switch s.Metric {
		case producerAlive:
			producers += s.Value
		case groupMembers, consumerAlive:
			got[s.Metric.Name+" "+s.Labels[len(s.Labels)-1]] = s.Value
		case ringErrors:
			got[s.Metric.Name+" "+s.Labels[3]] = s.Value
		}
	}
	// (A producer records its events published on slow paths only: not
	// yet here.)
	if producers != 2 {
		t.Errorf("%d producers alive, want 2", producers)
	}
	for k, want := range map[string]int64{"group.members g": 1, "consumer.alive g": 1, "ring.errors layer2": 1} {
		if got[k] != want {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], want, got)
		}
	}
	if !seen["exporter.source_readable{"+dir+"}"] {
		t.Errorf("no source_readable for %s", dir)
	}
}

// TestSelection_Selects: a prefix matches a base name, names match a shm
// name, a path or a base name.
func TestSelection_Selects(t *testing.T) {
	for _, c := range []struct {
		sel  Selection
		name string
		want bool
	}{
		{Selection{}, "anything", true},
		{Selection{Prefix: "app-"}, "app-ticks", true},
		{Selection{Prefix: "app-"}, "/var/rings/app-ticks", true},
		{Selection{Prefix: "app-"}, "/app-dir/ticks", false},
		{Selection{Names: []string{"ticks"}}, "ticks", true},
		{Selection{Names: []string{"ticks"}}, "/var/rings/ticks", true},
		{Selection{Names: []string{"/var/rings/ticks"}}, "/var/rings/ticks", true},
		{Selection{Names: []string{"/var/rings/ticks"}}, "ticks", false},
		{Selection{Names: []string{"ticks"}, Prefix: "app-"}, "ticks", false},
	} {
		if got := c.sel.selects(c.name); got != c.want {
			t.Errorf("%+v selects %q: %v, want %v", c.sel, c.name, got, c.want)
		}
	}
}
