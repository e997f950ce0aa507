package main

// `myelon bench fabric`: rounds of the inference fabric (package fabric)
// between this process as the scheduler and N worker processes of this
// binary: broadcast a request to every rank, gather one reply per rank.

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/myelon-go/myelon/bench/hist"
	"github.com/myelon-go/myelon/bench/peers"
	"github.com/myelon-go/myelon/bench/repeat"
	"github.com/myelon-go/myelon/fabric"
	"github.com/myelon-go/myelon/ring"
)

const fabricWorkerRole = "fabric-worker"

func init() { childRoles[fabricWorkerRole] = fabricWorker }

// fabricResult is one worker count's runs.
type fabricResult struct {
	Workers int    `json:"workers"`
	Size    int    `json:"size"`
	Wait    string `json:"wait"`
	// Rounds is the run with the median p50: round latency (broadcast to
	// the last reply), ns; throughput = rounds/s.
	Rounds hist.Summary `json:"rounds"`
	// RefRatio is the median over the runs of the round's p50 over the p50
	// of a raw atomic ping-pong between two processes, run just before:
	// with one worker a round is a ping-pong, so this is the fabric's cost
	// over the floor.
	RefRatio float64 `json:"ratio_to_raw_atomic_p50,omitempty"`
	// Repeats, P50, RoundsPerSec and Ratio summarise the runs (Ratio with
	// one worker only); Anomaly: the median ratio is below anomalyRatio;
	// Noisy: they spread more than repeat.NoisySpread.
	Repeats      int          `json:"repeats"`
	P50          repeat.Stat  `json:"p50_ns"`
	RoundsPerSec repeat.Stat  `json:"rounds_per_sec"`
	Ratio        *repeat.Stat `json:"ratio_stats,omitempty"`
	Anomaly      bool         `json:"anomaly"`
	Noisy        bool         `json:"noisy"`
	// CPUs: the scheduler ran on CPUs[0], worker r on
	// CPUs[(r+1) % len(CPUs)] (the reference's initiator and echo as the
	// scheduler and worker 0); empty when nothing was pinned.
	CPUs []int          `json:"cpus,omitempty"`
	Runs []hist.Summary `json:"runs"`
}

func runBenchFabric(args []string) error {
	fs := newFlags("bench fabric")
	workerList := fs.String("workers", "1,2,4", "worker process counts, comma-separated")
	count := fs.Int("count", 20000, "measured rounds per worker count")
	warmup := fs.Int("warmup", 2000, "unmeasured rounds first")
	size := fs.Int("size", 64, "request and reply payload bytes")
	waitName := fs.String("wait", "block", "wait strategy of every process: block, yield, spin, sleep[:d] (spin only with fewer processes than cores)")
	asJSON := fs.Bool("json", false, "print results as JSON")
	repeats := fs.Int("repeat", 1, "runs per worker count (with one worker, each after its own reference run); more than 1 prints medians and spreads")
	cpuList := fs.String("cpus", "", cpusUsage)
	ops, err := parse(fs, args)
	if err != nil {
		return err
	}
	cpus, err := parseCPUs(*cpuList)
	if err != nil {
		return err
	}
	if len(ops) > 0 {
		return usagef("unexpected argument %q", ops[0])
	}
	wait, err := ring.ParseWaitStrategy(*waitName)
	if err != nil {
		return usagef("%v", err)
	}
	var counts []int
	for _, s := range strings.Split(*workerList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || fabric.WorkerCount(n).Validate() != nil {
			return usagef("-workers %q: want counts in 1..%d", *workerList, fabric.MaxWorkers)
		}
		counts = append(counts, n)
	}
	if *count < 1 || *warmup < 0 || *size < 0 || *repeats < 1 {
		return usagef("-count, -warmup, -size, -repeat: want count >= 1, warmup >= 0, size >= 0, repeat >= 1")
	}
	ctx := context.Background()
	var results []fabricResult
	for _, n := range counts {
		r := fabricResult{Workers: n, Size: *size, Wait: wait.String(), Repeats: *repeats, CPUs: cpus}
		var ratios []float64
		for rep := range *repeats {
			var ref peers.Result
			if n == 1 {
				progress("raw-atomic reference, run %d/%d ...", rep+1, *repeats)
				if ref, err = peers.Run(ctx, peers.RawAtomic, peers.Config{Size: *size, Count: *count, Warmup: *warmup, CPUs: cpus}); err != nil {
					return fmt.Errorf("reference: %w", err)
				}
			}
			progress("fabric, %d workers, run %d/%d ...", n, rep+1, *repeats)
			sum, err := fabricRounds(ctx, n, *count, *warmup, *size, wait, cpus)
			if err != nil {
				return fmt.Errorf("%d workers: %w", n, err)
			}
			r.Runs = append(r.Runs, sum)
			if n == 1 && latencyOf(ref).P50 > 0 {
				ratios = append(ratios, float64(sum.P50)/float64(latencyOf(ref).P50))
			}
		}
		if err := summariseFigures(r.Runs,
			figure[hist.Summary]{&r.P50, func(h hist.Summary) float64 { return float64(h.P50) }},
			figure[hist.Summary]{&r.RoundsPerSec, func(h hist.Summary) float64 { return h.Throughput }}); err != nil {
			return err
		}
		r.Noisy = r.P50.Noisy()
		if ratios != nil {
			r.Ratio, r.Anomaly, r.Noisy, err = summariseRatio(ratios, r.Noisy)
			if err != nil {
				return err
			}
			r.RefRatio = r.Ratio.Median
		}
		// The representative run: the one whose p50 is nearest the median.
		r.Rounds = slices.MinFunc(r.Runs, func(a, b hist.Summary) int {
			return cmp.Compare(math.Abs(float64(a.P50)-r.P50.Median), math.Abs(float64(b.P50)-r.P50.Median))
		})
		results = append(results, r)
	}
	progress("")
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "workers\tsize\twait\truns\trounds/s\tp50\tp50 spread\tp90\tp99\tp99.9\tmax\tratio\tratio range\t\t")
	ns := func(v int64) string { return time.Duration(v).String() }
	var fl flags
	for _, r := range results {
		ratio, rng := "-", "-"
		if r.Ratio != nil {
			ratio, rng = ratioCols(r.Ratio)
		}
		marks := fl.mark(fmt.Sprintf("workers=%d", r.Workers), r.Anomaly, r.Noisy)
		l := r.Rounds
		fmt.Fprintf(w, "%d\t%d\t%s\t%d\t%.0f\t%s\t%.0f%%\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Workers, r.Size, r.Wait, r.Repeats, r.RoundsPerSec.Median,
			ns(int64(r.P50.Median)), 100*r.P50.Spread, ns(l.P90), ns(l.P99), ns(l.P999), ns(l.Max), ratio, rng, marks)
	}
	w.Flush()
	fmt.Println("\nround = broadcast of one request to every worker process and gather of every reply. rounds/s and p50: medians of the runs; p90 to max: the run with the median p50. ratio (1 worker) = p50 / p50 of raw-atomic run just before.")
	fl.notes(os.Stdout, "A round with one worker is a ping-pong with more work than the reference's", "p50 or ratio")
	return nil
}

// fabricRounds starts a scheduler and n worker processes and measures
// count rounds. With cpus, the scheduler's thread is pinned to cpus[0] and
// worker r's serving thread to cpus[(r+1) % len(cpus)]: the producer and
// consumers of broadcast, the initiator and echo of ping-pong with one
// worker; with more processes than CPUs, workers share them round-robin.
func fabricRounds(ctx context.Context, n, count, warmup, size int, wait ring.WaitStrategy, cpus []int) (hist.Summary, error) {
	s, err := fabric.NewScheduler(fabric.Config{Session: ring.PortableName("bench"), Workers: fabric.WorkerCount(n), Wait: wait})
	if err != nil {
		return hist.Summary{}, err
	}
	// A worker that exits early (a pin refused, a crash) ends the run at
	// once instead of leaving the scheduler to wait out its timeouts.
	ctx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	var finished atomic.Bool
	var procs []*exec.Cmd
	var exited []chan struct{}
	ok := false
	defer func() {
		finished.Store(true)
		s.Close() // the workers read the end of the dispatch ring and exit
		for i, done := range exited {
			if !ok {
				// A failed run's worker may be stuck short of the fabric
				// (attaching to rings the scheduler never completed).
				procs[i].Process.Kill()
			}
			<-done
		}
	}()
	for r := range n {
		rc, err := s.Layout().Runner(r)
		if err != nil {
			return hist.Summary{}, err
		}
		a := fabricWorkerArgs{Runner: rc.String(), CPU: -1}
		if len(cpus) > 0 {
			a.CPU = cpus[(r+1)%len(cpus)]
		}
		js, err := json.Marshal(a)
		if err != nil {
			return hist.Summary{}, err
		}
		cmd, err := startChild(fabricWorkerRole, string(js))
		if err != nil {
			return hist.Summary{}, err
		}
		if err := cmd.Start(); err != nil {
			return hist.Summary{}, err
		}
		done := make(chan struct{})
		procs, exited = append(procs, cmd), append(exited, done)
		go func() {
			err := cmd.Wait()
			if !finished.Load() {
				abort(fmt.Errorf("worker %d exited early: %v", r, err))
			}
			close(done)
		}()
	}
	// Pinned after the workers started: they inherit the forking thread's
	// affinity.
	if len(cpus) > 0 {
		unpin, err := ring.PinThread(cpus[0])
		if err != nil {
			return hist.Summary{}, err
		}
		defer unpin()
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.Rendezvous(rctx); err != nil {
		return hist.Summary{}, orCause(ctx, err)
	}
	req := make([]byte, size)
	rec := hist.New()
	round := func() error {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		r, err := s.Broadcast(rctx, req)
		if err != nil {
			return err
		}
		_, err = r.Gather(rctx)
		return err
	}
	for range warmup {
		if err := round(); err != nil {
			return hist.Summary{}, orCause(ctx, err)
		}
	}
	start := time.Now()
	for range count {
		t0 := time.Now()
		if err := round(); err != nil {
			return hist.Summary{}, orCause(ctx, err)
		}
		rec.Record(time.Since(t0).Nanoseconds())
	}
	sum, err := rec.Summary(time.Since(start))
	ok = err == nil
	return sum, err
}

// fabricWorkerArgs is what a worker process is told.
type fabricWorkerArgs struct {
	Runner string `json:"runner"` // its fabric.RunnerConfig
	CPU    int    `json:"cpu"`    // the CPU its serving thread runs on; -1: not pinned
}

// orCause prefers the reason ctx was cancelled (a worker's exit) to err.
func orCause(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil {
		return cause
	}
	return err
}

// fabricWorker is a worker process: its fabricWorkerArgs are the argument;
// it echoes every request until the scheduler closes the fabric.
func fabricWorker(args string) error {
	var a fabricWorkerArgs
	if err := json.Unmarshal([]byte(args), &a); err != nil {
		return err
	}
	rc, err := fabric.ParseRunner(a.Runner)
	if err != nil {
		return err
	}
	if a.CPU >= 0 {
		// Serve runs on this goroutine, so its thread is the one pinned.
		unpin, err := ring.PinThread(a.CPU)
		if err != nil {
			return err
		}
		defer unpin()
	}
	ctx := context.Background()
	w, err := fabric.NewWorker(ctx, rc)
	if err != nil {
		return err
	}
	defer w.Close()
	return w.Serve(ctx, func(ctx context.Context, req, reply []byte) ([]byte, error) {
		return append(reply, req...), nil
	})
}
