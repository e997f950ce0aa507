package hist

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"
)

// within reports whether got is within the histogram's 0.1 % resolution of want.
func within(got, want int64) bool {
	return math.Abs(float64(got-want)) <= math.Max(1, float64(want)*0.001)
}

func TestRecorder_Summary_UniformSamples(t *testing.T) {
	r := New()
	const n = 10000
	for v := int64(1); v <= n; v++ {
		r.Record(v)
	}
	s, err := r.Summary(2 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if s.Count != n || s.Min != 1 || s.Max != n {
		t.Fatalf("count/min/max = %d/%d/%d, want %d/1/%d", s.Count, s.Min, s.Max, n, n)
	}
	if s.Mean != 5000.5 {
		t.Errorf("mean = %v, want 5000.5", s.Mean)
	}
	// Population stdev of 1..n is sqrt((n²-1)/12).
	if want := math.Sqrt((n*n - 1) / 12.0); math.Abs(s.Stdev-want) > 1e-6*want {
		t.Errorf("stdev = %v, want %v", s.Stdev, want)
	}
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"p1", s.P1, 100}, {"p10", s.P10, 1000}, {"p25", s.P25, 2500}, {"p50", s.P50, 5000},
		{"p75", s.P75, 7500}, {"p90", s.P90, 9000}, {"p95", s.P95, 9500}, {"p99", s.P99, 9900},
		{"p999", s.P999, 9990}, {"p9999", s.P9999, 9999}, {"p99999", s.P99999, 10000},
		{"p999999", s.P999999, 10000},
	} {
		if !within(c.got, c.want) {
			t.Errorf("%s = %d, want %d ± 0.1%%", c.name, c.got, c.want)
		}
	}
	if s.Throughput != 5000 || s.DurationSecs != 2 {
		t.Errorf("throughput/duration = %v/%v, want 5000/2", s.Throughput, s.DurationSecs)
	}
}

func TestRecorder_Summary_SkewedTail(t *testing.T) {
	// 990 fast samples and 10 slow ones: p99 is the last fast one, p99.9 slow.
	r := New()
	for range 990 {
		r.Record(200)
	}
	for range 10 {
		r.Record(1_000_000)
	}
	s, err := r.Summary(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !within(s.P50, 200) || !within(s.P99, 200) {
		t.Errorf("p50/p99 = %d/%d, want 200/200", s.P50, s.P99)
	}
	if !within(s.P999, 1_000_000) || s.Max != 1_000_000 {
		t.Errorf("p999/max = %d/%d, want 1e6/1e6", s.P999, s.Max)
	}
	if !(s.Min <= s.P50 && s.P50 <= s.P99 && s.P99 <= s.P999 && s.P9999 <= s.Max) {
		t.Errorf("percentiles out of order: %+v", s)
	}
}

func TestRecorder_Summary_PercentilesInsideExtremes(t *testing.T) {
	// A single sample in a wide bucket: the histogram's bucket top would
	// exceed the exact max; Summary clamps it.
	r := New()
	r.Record(123_457)
	s, err := r.Summary(time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []int64{s.P1, s.P50, s.P99, s.P999999} {
		if p != 123_457 {
			t.Fatalf("percentile %d, want exactly the single sample 123457", p)
		}
	}
}

func TestRecorder_Record_Saturates(t *testing.T) {
	r := New()
	r.Record(-5)
	r.Record(MaxValue + 1)
	r.Record(math.MaxInt64)
	s, err := r.Summary(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if s.Count != 3 || s.Saturated != 2 || s.Min != 0 || s.Max != MaxValue {
		t.Fatalf("count/saturated/min/max = %d/%d/%d/%d, want 3/2/0/%d", s.Count, s.Saturated, s.Min, s.Max, MaxValue)
	}
}

func TestRecorder_Summary_Empty(t *testing.T) {
	s, err := New().Summary(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if (s != Summary{DurationSecs: 1}) {
		t.Fatalf("empty summary = %+v", s)
	}
}

func TestRecorder_Summary_NegativeElapsed(t *testing.T) {
	if _, err := New().Summary(-1); !errors.Is(err, ErrNegativeElapsed) {
		t.Fatalf("err = %v, want ErrNegativeElapsed", err)
	}
}

func TestRecorder_Merge(t *testing.T) {
	a, b := New(), New()
	for v := int64(1); v <= 100; v++ {
		a.Record(v)
		b.Record(v + 100)
	}
	a.Merge(b)
	a.Merge(New()) // empty: no effect
	s, err := a.Summary(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if s.Count != 200 || s.Min != 1 || s.Max != 200 || s.Mean != 100.5 || !within(s.P50, 100) {
		t.Fatalf("merged summary = %+v", s)
	}
	a.Reset()
	if a.Count() != 0 {
		t.Fatalf("count after Reset = %d", a.Count())
	}
}

func TestRecorder_Record_NoAllocs(t *testing.T) {
	r := New()
	var v int64
	if n := testing.AllocsPerRun(1000, func() { v++; r.Record(v * 37) }); n != 0 {
		t.Fatalf("Record allocates %v times per call", n)
	}
}

func TestSummary_JSONFieldNames(t *testing.T) {
	r := New()
	r.Record(10)
	s, err := r.Summary(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	// The seed's latency_stats fields, plus the achieved rate.
	for _, k := range []string{"count", "min", "max", "mean", "stdev", "p1", "p10", "p25", "p50", "p90",
		"p95", "p99", "p999", "p9999", "p99999", "p999999", "throughput", "duration_secs"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
	if _, ok := m["saturated"]; ok {
		t.Errorf("saturated should be omitted when zero: %s", b)
	}
}
