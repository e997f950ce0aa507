package main

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/myelon-go/myelon/bench/hist"
	"github.com/myelon-go/myelon/bench/layers"
	"github.com/myelon-go/myelon/bench/peers"
	"github.com/myelon-go/myelon/bench/workload"
)

// cliEnv makes the test binary run as the myelon command (cli).
const cliEnv = "MYELON_TEST_CLI"

func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runChild(role))
	}
	if os.Getenv(cliEnv) != "" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	peers.MaybeRunChild()
	workload.MaybeRunChild()
	os.Exit(m.Run())
}

// capture runs f with os.Stdout redirected and returns what it printed.
func capture(t *testing.T, f func() error) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	out := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		out <- string(b)
	}()
	ferr := f()
	os.Stdout = old
	w.Close()
	s := <-out
	if ferr != nil {
		t.Fatalf("%v\noutput:\n%s", ferr, s)
	}
	return s
}

// TestBench_JSONSchema runs two lanes twice, pinned where there are two
// CPUs, and checks the JSON: per lane and size the medians, ranges and
// spreads, the ratio to the reference with its anomaly and noisy flags,
// and every run with the reference run next to it.
func TestBench_JSONSchema(t *testing.T) {
	run := []string{layers.RingName, peers.UnixSocket}
	args := []string{"-peers", strings.Join(run, ","), "-count", "300", "-warmup", "64", "-size", "64", "-repeat", "2", "-json"}
	var cpus []any
	if runtime.NumCPU() >= 2 {
		args, cpus = append(args, "-cpus", "0,1"), []any{0.0, 1.0}
	}
	out := capture(t, func() error { return runBench(args) })
	var lanes []map[string]any
	if err := json.Unmarshal([]byte(out), &lanes); err != nil {
		t.Fatalf("bench -json output does not parse: %v\n%s", err, out)
	}
	seen := map[string]bool{}
	for _, l := range lanes {
		name, _ := l["adapter"].(string)
		seen[name] = true
		isRef := name == peers.RawAtomic
		wantRuns := 2.0
		if isRef {
			wantRuns = 2 * float64(len(run)) // once before each run of each lane
		}
		if l["message_size"] != 64.0 || l["repeats"] != wantRuns {
			t.Errorf("%s: size %v repeats %v, want 64 and %v", name, l["message_size"], l["repeats"], wantRuns)
		}
		for _, k := range []string{"p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns", "round_trips_per_sec"} {
			st, _ := l[k].(map[string]any)
			if st["n"] != wantRuns || !(st["min"].(float64) > 0 && st["min"].(float64) <= st["median"].(float64) && st["median"].(float64) <= st["max"].(float64)) || st["spread"] == nil {
				t.Errorf("%s: %s = %v, want n %v and 0 < min <= median <= max, and a spread", name, k, l[k], wantRuns)
			}
		}
		ratio, hasRatio := l["ratio_to_raw_atomic_p50"].(map[string]any)
		if hasRatio == isRef {
			t.Errorf("%s: ratio %v (the reference has none, every lane has one)", name, l["ratio_to_raw_atomic_p50"])
		}
		if _, ok := l["anomaly"].(bool); !ok {
			t.Errorf("%s: no anomaly flag", name)
		}
		if _, ok := l["noisy"].(bool); !ok {
			t.Errorf("%s: no noisy flag", name)
		}
		if hasRatio && (ratio["median"].(float64) < anomalyRatio) != l["anomaly"] {
			t.Errorf("%s: anomaly %v with median ratio %v", name, l["anomaly"], ratio["median"])
		}
		if cpus != nil && !reflect.DeepEqual(l["cpus"], cpus) {
			t.Errorf("%s: cpus %v, want %v", name, l["cpus"], cpus)
		}
		runs, _ := l["runs"].([]any)
		if float64(len(runs)) != wantRuns {
			t.Fatalf("%s: %d runs, want %v", name, len(runs), wantRuns)
		}
		for _, r := range runs {
			r := r.(map[string]any)
			stats, _ := r["latency_stats"].(map[string]any)
			if r["verification_passed"] != true || stats["count"] != 300.0 || r["run"] == nil {
				t.Errorf("%s: implausible run %v", name, r)
			}
			if !isRef && (r["reference_p50_ns"] == nil || r["ratio_to_raw_atomic_p50"] == nil) {
				t.Errorf("%s: run without its reference: %v", name, r)
			}
		}
	}
	for _, want := range append(run, peers.RawAtomic) {
		if !seen[want] {
			t.Errorf("no result for %s in %s", want, out)
		}
	}
}

// TestSummarise_KnownRuns summarises made-up runs and checks the table: the
// medians, the spread, the ratio range, ANOMALY for a lane that beat its
// reference and the noisy-host warning.
func TestSummarise_KnownRuns(t *testing.T) {
	mk := func(peer string, p50s []int64, refs []int64) []benchResult {
		var rs []benchResult
		for i, p := range p50s {
			r := benchResult{Result: peers.Result{Peer: peer, Size: 64, Latency: hist.Summary{P50: p, P90: p, P99: 2 * p, P999: 3 * p, Max: 4 * p, Throughput: 1e9 / float64(p)}}, Run: i}
			if refs != nil {
				r.RefP50, r.RefRatio = refs[i], float64(p)/float64(refs[i])
			}
			rs = append(rs, r)
		}
		return rs
	}
	ref, err := summarise(mk(peers.RawAtomic, []int64{100, 100, 110}, nil), false)
	if err != nil {
		t.Fatal(err)
	}
	steady, err := summarise(mk("steady", []int64{120, 130, 125}, []int64{100, 100, 100}), true)
	if err != nil {
		t.Fatal(err)
	}
	beat, err := summarise(mk("beat", []int64{90, 80, 300}, []int64{100, 100, 100}), true)
	if err != nil {
		t.Fatal(err)
	}
	if ref.P50.Median != 100 || ref.Ratio != nil || ref.Anomaly || ref.Noisy || ref.Repeats != 3 {
		t.Errorf("reference summary %+v", ref)
	}
	if steady.P50.Median != 125 || steady.Ratio.Median != 1.25 || steady.Ratio.Min != 1.2 || steady.Ratio.Max != 1.3 || steady.Anomaly || steady.Noisy || steady.P99.Median != 250 {
		t.Errorf("steady summary %+v ratio %+v", steady, steady.Ratio)
	}
	if beat.P50.Median != 90 || beat.Ratio.Median != 0.9 || !beat.Anomaly || !beat.Noisy {
		t.Errorf("beat summary %+v ratio %+v: want median ratio 0.9, anomaly and noisy", beat, beat.Ratio)
	}
	var b strings.Builder
	printTable(&b, []laneSummary{ref, steady, beat})
	out := b.String()
	for _, want := range []string{"1.25x", "1.20-1.30x", "0.90x", "0.80-3.00x", "ANOMALY noisy", "ANOMALY (beat at 64 B)", "warning: the host was noisy: the runs of beat at 64 B"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "steady at 64 B") {
		t.Errorf("the steady lane is flagged:\n%s", out)
	}
}

// TestBench_Required runs the ring lane with the required-consumer policy
// on and checks the runs say so.
func TestBench_Required(t *testing.T) {
	defer layers.SetRequired(false)
	out := capture(t, func() error {
		return runBench([]string{"-layer", "raw", "-required", "-count", "300", "-warmup", "64", "-size", "64", "-json"})
	})
	var lanes []laneSummary
	if err := json.Unmarshal([]byte(out), &lanes); err != nil || len(lanes) != 2 {
		t.Fatalf("%v\n%s", err, out)
	}
	if r := lanes[1].Runs[0]; lanes[1].Peer != layers.RingName || !r.Required || !r.Verified || lanes[0].Runs[0].Required {
		t.Errorf("runs %+v / %+v: want the ring's marked required, the reference's not", lanes[1].Runs[0], lanes[0].Runs[0])
	}
}

func TestBench_SweepWritesJSONAndCharts(t *testing.T) {
	dir := t.TempDir()
	capture(t, func() error {
		return runBench([]string{"sweep", "-count", "100", "-warmup", "10", "-size", "64,1024", "-peers", "myelon-ring", "-out", dir})
	})
	for _, f := range []string{"results.json", "latency.svg", "throughput.svg"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f, ".svg") {
			if err := xml.Unmarshal(b, new(struct{ XMLName xml.Name })); err != nil {
				t.Errorf("%s is not XML: %v", f, err)
			}
			if !strings.Contains(string(b), "myelon-ring") || !strings.Contains(string(b), "raw-atomic") {
				t.Errorf("%s lacks a series", f)
			}
		}
	}
}

// TestBench_SignalAndBroadcast runs both workloads on the ring and framed
// lanes, signal with two consumers too, each beside its reference run, and
// checks the JSON: a reference row, then the lane's with its ratio.
func TestBench_SignalAndBroadcast(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		lane      string
		consumers int
	}{
		{[]string{"signal"}, "ring", 1},
		{[]string{"broadcast", "-layer", "framed"}, "framed", 2},
		{[]string{"signal", "-layer", "framed", "-consumers", "2"}, "framed", 2},
	} {
		args := append(tc.args, "-count", "5000", "-warmup", "100", "-wait", "block", "-repeat", "2", "-json")
		out := capture(t, func() error { return runBench(args) })
		var rows []workloadSummary
		if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 2 {
			t.Fatalf("%v: %v %s", tc.args, err, out)
		}
		ref, lane := rows[0], rows[1]
		if ref.Lane != workload.LaneReference || ref.Ratio != nil || lane.Lane != tc.lane || lane.Ratio == nil || lane.Ratio.N != 2 || lane.Ratio.Median <= 0 {
			t.Fatalf("%v: rows %+v / %+v", tc.args, ref, lane)
		}
		for _, row := range rows {
			if row.Repeats != 2 || len(row.Runs) != 2 || row.Consumers != tc.consumers || row.Throughput.Median <= 0 || row.Workload != tc.args[0] {
				t.Errorf("%v: row %+v", tc.args, row)
			}
			for _, r := range row.Runs {
				if len(r.Consumers) != tc.consumers || r.Consumers[0].Events != 5000 || r.Worst.Count == 0 || !r.Verified {
					t.Errorf("%v: run %+v", tc.args, r)
				}
			}
		}
	}
}

func TestDemo_StreamsBetweenProcesses(t *testing.T) {
	out := capture(t, func() error { return runDemo([]string{"-count", "20000", "-wait", "block"}) })
	if !strings.Contains(out, "consumed  20000 events") || !strings.Contains(out, "p50") {
		t.Fatalf("demo output:\n%s", out)
	}
}

// TestBench_Typed runs the typed workload for two codecs, one with a view,
// in both modes, and checks the JSON: a row per access in each mode, and
// access against decode.
func TestBench_Typed(t *testing.T) {
	out := capture(t, func() error {
		return runBench([]string{"typed", "-codec", "bincode,raw", "-records", "8", "-count", "300", "-wait", "block", "-repeat", "2", "-json"})
	})
	var rep typedReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var got []string
	for _, s := range rep.OneWay {
		got = append(got, s.Codec+"/"+s.Access)
		if s.Records != 8 || s.Bytes < 8*512 || s.Repeats != 2 || s.Messages.Median <= 0 || len(s.Runs) != 2 || s.Runs[0].Consumers[0].Events != 300 {
			t.Errorf("row %+v", s)
		}
	}
	want := []string{"bincode/decode", "raw/decode", "raw/view"}
	if !slices.Equal(got, want) {
		t.Errorf("rows %v, want %v", got, want)
	}
	got = got[:0]
	for _, s := range rep.PingPong {
		got = append(got, s.Codec+"/"+s.Access)
		if s.Records != 8 || s.Bytes < 8*512 || s.Repeats != 2 || len(s.Runs) != 2 || s.P50.N != 2 || s.P50.Median <= 0 ||
			s.P99.Median < s.P50.Median || s.P999.Median < s.P99.Median || s.RoundTrips.Median <= 0 {
			t.Errorf("ping-pong row %+v", s)
		}
		for _, r := range s.Runs {
			if r.Config.Mode != workload.PingPong || r.RoundTrip == nil || r.RoundTrip.Count != 300 || r.Consumers[0].Events != 300 {
				t.Errorf("ping-pong run %+v", r)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("ping-pong rows %v, want %v", got, want)
	}
	if len(rep.AccessVsDecode) != 2 || rep.AccessVsDecode[0].ViewNs != 0 || rep.AccessVsDecode[1].Speedup <= 0 {
		t.Errorf("access vs decode %+v", rep.AccessVsDecode)
	}
	if err := runBench([]string{"typed", "-codec", "json"}); err == nil || !strings.Contains(err.Error(), "-codec") {
		t.Errorf("-codec json: %v", err)
	}
}

// TestBench_TypedPingPongSchema runs the typed ping-pong alone, pinned
// where there are two CPUs, and checks the JSON's field names: ping_pong
// next to one_way (null: not run), each row with its figures and its
// runs' round-trip statistics.
func TestBench_TypedPingPongSchema(t *testing.T) {
	args := []string{"typed", "-mode", "ping-pong", "-codec", "raw", "-records", "1", "-count", "200", "-wait", "block", "-json"}
	fields := []string{"codec", "records", "access", "message_bytes", "repeats", "p50_ns", "p99_ns", "p999_ns", "round_trips_per_sec", "noisy", "runs"}
	if runtime.NumCPU() >= 2 {
		args, fields = append(args, "-cpus", "0,1"), append(fields, "cpus")
	}
	out := capture(t, func() error { return runBench(args) })
	var rep map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if string(rep["one_way"]) != "null" || rep["access_vs_decode"] == nil {
		t.Errorf("one_way %s, access_vs_decode %s", rep["one_way"], rep["access_vs_decode"])
	}
	var rows []map[string]json.RawMessage
	if err := json.Unmarshal(rep["ping_pong"], &rows); err != nil || len(rows) != 2 {
		t.Fatalf("ping_pong: %v\n%s", err, rep["ping_pong"])
	}
	for _, row := range rows {
		for _, k := range fields {
			if row[k] == nil {
				t.Errorf("ping_pong row lacks %q: %v", k, row)
			}
		}
		var runs []map[string]json.RawMessage
		if err := json.Unmarshal(row["runs"], &runs); err != nil || len(runs) != 1 || runs[0]["round_trip_stats"] == nil {
			t.Errorf("runs: %v %s", err, row["runs"])
		}
	}
}
