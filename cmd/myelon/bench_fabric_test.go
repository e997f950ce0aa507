package main

import (
	"encoding/json"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestBench_Fabric runs rounds with one and two workers, pinned where
// there are two CPUs, and checks the JSON.
func TestBench_Fabric(t *testing.T) {
	args := []string{"fabric", "-workers", "1,2", "-count", "300", "-warmup", "30", "-repeat", "2", "-json"}
	var cpus []int
	if runtime.NumCPU() >= 2 {
		args, cpus = append(args, "-cpus", "0,1"), []int{0, 1}
	}
	out := capture(t, func() error { return runBench(args) })
	var res []fabricResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 2 {
		t.Fatalf("%v\n%s", err, out)
	}
	for i, r := range res {
		if r.Workers != i+1 || r.Rounds.Count != 300 || r.Rounds.P50 <= 0 || r.Rounds.Throughput <= 0 || r.Wait != "block" ||
			r.Repeats != 2 || len(r.Runs) != 2 || r.P50.N != 2 || r.P50.Median <= 0 || r.RoundsPerSec.Median <= 0 || !slices.Equal(r.CPUs, cpus) {
			t.Errorf("result %d: %+v", i, r)
		}
		if (r.Ratio != nil) != (i == 0) || r.Ratio != nil && (r.Ratio.N != 2 || r.Ratio.Median != r.RefRatio) {
			t.Errorf("result %d: ratio %+v, RefRatio %v (want stats of two runs with one worker only)", i, r.Ratio, r.RefRatio)
		}
	}
	if res[0].RefRatio <= 0 || res[1].RefRatio != 0 {
		t.Errorf("ratio: %v with 1 worker (want > 0), %v with 2 (want none)", res[0].RefRatio, res[1].RefRatio)
	}
}

func TestBench_FabricBadWorkers(t *testing.T) {
	for _, w := range []string{"0", "x", "1024"} {
		if err := runBench([]string{"fabric", "-workers", w}); err == nil {
			t.Errorf("-workers %s accepted", w)
		}
	}
}

// TestBench_FabricPinRefused: a worker whose CPU the system refuses exits,
// and the run fails naming it (its exit ends the run, rather than the
// rendezvous timeout).
func TestBench_FabricPinRefused(t *testing.T) {
	err := runBench([]string{"fabric", "-workers", "2", "-count", "10", "-warmup", "0", "-cpus", "0,0,100000"})
	if err == nil || !strings.Contains(err.Error(), "worker 1 exited early") {
		t.Fatalf("err = %v, want worker 1 exited early", err)
	}
}
