package main

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

func TestBench_JSONHasPercentilesAndRatio(t *testing.T) {
	out := capture(t, func() error {
		return runBench([]string{"-count", "300", "-warmup", "30", "-size", "64", "-json"})
	})
	var results []struct {
		Adapter string  `json:"adapter"`
		Size    int     `json:"message_size"`
		Ratio   float64 `json:"ratio_to_raw_atomic_p50"`
		Stats   struct {
			Count                    int64
			P50, P90, P99, P999, Max int64
			Mean, Throughput         float64
		} `json:"latency_stats"`
		Verified bool `json:"verification_passed"`
	}
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("bench -json output does not parse: %v\n%s", err, out)
	}
	seen := map[string]bool{}
	for _, r := range results {
		seen[r.Adapter] = true
		s := r.Stats
		if !r.Verified || r.Size != 64 || s.Count != 300 || s.P50 <= 0 || s.P50 > s.P99 || s.P99 > s.Max || s.Throughput <= 0 || r.Ratio <= 0 {
			t.Errorf("implausible result %+v", r)
		}
	}
	for _, want := range ladder {
		if !seen[want] {
			t.Errorf("no result for %s in %s", want, out)
		}
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

func TestBench_SignalAndBroadcast(t *testing.T) {
	for _, mode := range []string{"signal", "broadcast"} {
		out := capture(t, func() error {
			return runBench([]string{mode, "-count", "5000", "-warmup", "100", "-wait", "block", "-json"})
		})
		var res []workload.Result
		if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 1 || len(res[0].Consumers) == 0 || res[0].Consumers[0].Events != 5000 || res[0].Worst.Count == 0 {
			t.Fatalf("%s: %v %s", mode, err, out)
		}
	}
}

func TestDemo_StreamsBetweenProcesses(t *testing.T) {
	out := capture(t, func() error { return runDemo([]string{"-count", "20000", "-wait", "block"}) })
	if !strings.Contains(out, "consumed  20000 events") || !strings.Contains(out, "p50") {
		t.Fatalf("demo output:\n%s", out)
	}
}
