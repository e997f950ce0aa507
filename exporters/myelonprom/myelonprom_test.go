package myelonprom_test

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/myelon-go/myelon/exporters/catalog"
	"github.com/myelon-go/myelon/exporters/internal/workload"
	"github.com/myelon-go/myelon/exporters/myelonprom"
	"github.com/myelon-go/myelon/ring"
)

// TestHandler_Scrape scrapes /metrics over HTTP while a known workload's
// rings are open: a shm byte ring, a shm frame ring and a shm frame ring
// whose producer and a consumer are NATS bridges, and a directory
// of file-backed rings holding a live ring, a closed one and one whose
// header was scribbled; and checks the metrics' names, types and exact
// values. A missing directory and the unreadable ring are in the scrape,
// which succeeds.
func TestHandler_Scrape(t *testing.T) {
	rs := workload.Run(t)
	dir := t.TempDir()
	live, err := ring.CreateBytes(filepath.Join(dir, "live"), ring.Config{Backend: ring.File, SlotSize: 64, Capacity: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	closed, err := ring.CreateBytes(filepath.Join(dir, "closed"), ring.Config{Backend: ring.File, SlotSize: 64, Capacity: 8, KeepOnClose: true})
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	workload.Unreadable(t, filepath.Join(dir, "bad"))
	missing := filepath.Join(dir, "missing")

	h, err := myelonprom.Handler(catalog.Selection{
		Dirs:  []string{dir, missing},
		Names: []string{rs.Ring, rs.Frame, rs.Bridge, "live", "closed", "bad"},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	fams := scrape(t, srv.URL)

	// Every family is the catalog's, with its type.
	byName := map[string]*catalog.Metric{}
	for _, m := range catalog.Metrics() {
		byName[m.PrometheusName()] = m
	}
	for name, f := range fams {
		m, ok := byName[name]
		switch {
		case !ok:
			t.Errorf("scraped %s, not in the catalog", name)
		case m.Kind == catalog.Counter && f.GetType() != dto.MetricType_COUNTER,
			m.Kind == catalog.Gauge && f.GetType() != dto.MetricType_GAUGE:
			t.Errorf("%s has type %s", name, f.GetType())
		}
	}

	r := labels{"ring": rs.Ring, "backend": "shm", "layer": "ring"}
	c := r.with("consumer", workload.RingConsumer, "group", "")
	fr := labels{"ring": rs.Frame, "backend": "shm", "layer": "frame"}
	fc := fr.with("consumer", workload.FrameConsumer, "group", "")
	br := labels{"ring": rs.Bridge, "backend": "shm", "layer": "frame"}
	bc := br.with("consumer", workload.BridgeConsumer, "group", "")
	file := func(name string) labels {
		return labels{"ring": filepath.Join(dir, name), "backend": "file"}
	}
	for _, w := range []want{
		{"myelon_exporter_source_readable", labels{"source": "shm"}, 1},
		{"myelon_exporter_source_readable", labels{"source": dir}, 1},
		{"myelon_exporter_source_readable", labels{"source": missing}, 0},

		{"myelon_ring_state", r.with("state", "ready"), 1},
		{"myelon_ring_state", r.with("state", "stale"), 0},
		{"myelon_ring_alive", r, 1},
		{"myelon_ring_info", r.with("kind", "bytes", "schema", ""), 1},
		{"myelon_ring_capacity", r, 64},
		{"myelon_ring_slot_size_bytes", r, 64},
		{"myelon_ring_published_total", r, workload.Events},
		{"myelon_ring_full_waits_total", r, 0},
		{"myelon_consumer_state", c.with("state", "active"), 1},
		{"myelon_consumer_alive", c, 1},
		{"myelon_consumer_position", c, workload.Consumed - 1},
		{"myelon_consumer_lag", c, workload.Events - workload.Consumed},
		{"myelon_consumer_lag_max", c, workload.Events},
		{"myelon_consumer_lapped_total", c, 0},

		{"myelon_ring_state", fr.with("state", "ready"), 1},
		{"myelon_ring_published_total", fr, workload.Fragments},
		{"myelon_frame_producer_messages_total", fr, float64(len(workload.MessageSizes))},
		{"myelon_frame_producer_fragments_total", fr, workload.Fragments},
		{"myelon_frame_producer_bytes_total", fr, workload.Bytes},
		{"myelon_frame_producer_multi_frame_total", fr, workload.MultiFrame},
		{"myelon_frame_consumer_messages_total", fc, float64(len(workload.MessageSizes))},
		{"myelon_frame_consumer_fragments_total", fc, workload.Fragments},
		{"myelon_frame_consumer_bytes_total", fc, workload.Bytes},
		{"myelon_frame_consumer_reassembly_errors_total", fc, 0},
		{"myelon_frame_consumer_checksum_errors_total", fc, 0},
		{"myelon_consumer_position", fc, workload.Fragments - 1},
		{"myelon_consumer_lag", fc, 0},

		{"myelon_bridge_inbound_written_total", br, float64(workload.Inbound.Written)},
		{"myelon_bridge_inbound_duplicates_total", br, float64(workload.Inbound.Duplicates)},
		{"myelon_bridge_inbound_lost_total", br, float64(workload.Inbound.Lost)},
		{"myelon_bridge_inbound_errors_total", br, float64(workload.Inbound.Errors)},
		{"myelon_bridge_outbound_published_total", bc, float64(workload.Outbound.Published)},
		{"myelon_bridge_outbound_acked_total", bc, float64(workload.Outbound.Acked)},
		{"myelon_bridge_outbound_republished_total", bc, float64(workload.Outbound.Republished)},
		{"myelon_bridge_outbound_errors_total", bc, float64(workload.Outbound.Errors)},

		{"myelon_ring_state", file("live").with("layer", "ring", "state", "ready"), 1},
		{"myelon_ring_state", file("closed").with("layer", "ring", "state", "closed"), 1},
		{"myelon_ring_alive", file("closed").with("layer", "ring"), 0},
		{"myelon_ring_state", file("bad").with("layer", "", "state", "unreadable"), 1},
	} {
		if got, ok := value(fams, w.name, w.labels); !ok {
			t.Errorf("%s%v: not scraped", w.name, w.labels)
		} else if got != w.want {
			t.Errorf("%s%v = %v, want %v", w.name, w.labels, got, w.want)
		}
	}
	// Participants that are not bridges have no bridge series.
	if n := count(fams, "myelon_bridge_inbound_written_total", labels{}) + count(fams, "myelon_bridge_outbound_published_total", labels{}); n != 2 {
		t.Errorf("%d series of bridge messages, want the bridged ring's 2", n)
	}
	if n := count(fams, "myelon_ring_unreadable", file("bad")); n != 1 {
		t.Errorf("myelon_ring_unreadable for the bad ring: %d series, want 1", n)
	}
	for _, m := range fams["myelon_ring_unreadable"].GetMetric() {
		if reason := get(m, "reason"); !strings.Contains(reason, "layout") {
			t.Errorf("unreadable ring's reason %q does not name the layout", reason)
		}
	}
	// The filter: nothing but the named rings.
	for _, m := range fams["myelon_ring_alive"].GetMetric() {
		if n := filepath.Base(get(m, "ring")); !slices.Contains([]string{rs.Ring, rs.Frame, rs.Bridge, "live", "closed", "bad"}, n) {
			t.Errorf("ring %s exported, not selected", get(m, "ring"))
		}
	}
}

// TestCollector_Prefix: a prefix selects rings by name, and a ring
// closed since the last scrape is gone from the next.
func TestCollector_Prefix(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"app-a", "app-b", "other"} {
		p, err := ring.CreateBytes(filepath.Join(dir, n), ring.Config{Backend: ring.File, SlotSize: 64, Capacity: 8})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
	}
	h, err := myelonprom.Handler(catalog.Selection{Dirs: []string{dir}, Prefix: "app-"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	fams := scrape(t, srv.URL)
	var got []string
	for _, m := range fams["myelon_ring_alive"].GetMetric() {
		if get(m, "backend") == "file" {
			got = append(got, filepath.Base(get(m, "ring")))
		}
	}
	if strings.Join(got, " ") != "app-a app-b" {
		t.Errorf("prefix app- exported file rings %v, want app-a app-b", got)
	}
}

// scrape gets url and parses the text exposition format.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// labels are label values a series must have (others may be there too).
type labels map[string]string

func (l labels) with(kv ...string) labels {
	out := labels{}
	for k, v := range l {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func (l labels) match(m *dto.Metric) bool {
	for k, v := range l {
		if get(m, k) != v {
			return false
		}
	}
	return true
}

func get(m *dto.Metric, name string) string {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name {
			return lp.GetValue()
		}
	}
	return ""
}

// value is the value of the one series of family name that has l.
func value(fams map[string]*dto.MetricFamily, name string, l labels) (float64, bool) {
	for _, m := range fams[name].GetMetric() {
		if l.match(m) {
			if c := m.GetCounter(); c != nil {
				return c.GetValue(), true
			}
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

func count(fams map[string]*dto.MetricFamily, name string, l labels) int {
	n := 0
	for _, m := range fams[name].GetMetric() {
		if l.match(m) {
			n++
		}
	}
	return n
}
