package main

// `myelon bench fabric`: rounds of the inference fabric (package fabric)
// between this process as the scheduler and N worker processes of this
// binary: broadcast a request to every rank, gather one reply per rank.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/myelon-go/myelon/bench/hist"
	"github.com/myelon-go/myelon/bench/peers"
	"github.com/myelon-go/myelon/fabric"
	"github.com/myelon-go/myelon/ring"
)

const fabricWorkerRole = "fabric-worker"

func init() { childRoles[fabricWorkerRole] = fabricWorker }

// fabricResult is one worker count's run.
type fabricResult struct {
	Workers int          `json:"workers"`
	Size    int          `json:"size"`
	Wait    string       `json:"wait"`
	Rounds  hist.Summary `json:"rounds"` // round latency (broadcast to the last reply), ns; throughput = rounds/s
	// RefRatio is the round's p50 over the p50 of a raw atomic ping-pong
	// between two processes, measured in the same run: with one worker a
	// round is a ping-pong, so this is the fabric's cost over the floor.
	RefRatio float64 `json:"ratio_to_raw_atomic_p50,omitempty"`
}

func runBenchFabric(args []string) error {
	fs := newFlags("bench fabric")
	workerList := fs.String("workers", "1,2,4", "worker process counts, comma-separated")
	count := fs.Int("count", 20000, "measured rounds per worker count")
	warmup := fs.Int("warmup", 2000, "unmeasured rounds first")
	size := fs.Int("size", 64, "request and reply payload bytes")
	waitName := fs.String("wait", "block", "wait strategy of every process: block, yield, spin, sleep[:d] (spin only with fewer processes than cores)")
	asJSON := fs.Bool("json", false, "print results as JSON")
	ops, err := parse(fs, args)
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
	if *count < 1 || *warmup < 0 || *size < 0 {
		return usagef("-count, -warmup, -size: want count >= 1, warmup >= 0, size >= 0")
	}
	ctx := context.Background()
	progress("raw-atomic reference ...")
	ref, err := peers.Run(ctx, peers.RawAtomic, peers.Config{Size: *size, Count: *count, Warmup: *warmup})
	if err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	var results []fabricResult
	for _, n := range counts {
		progress("fabric, %d workers ...", n)
		sum, err := fabricRounds(ctx, n, *count, *warmup, *size, wait)
		if err != nil {
			return fmt.Errorf("%d workers: %w", n, err)
		}
		r := fabricResult{Workers: n, Size: *size, Wait: wait.String(), Rounds: sum}
		if n == 1 && latencyOf(ref).P50 > 0 {
			r.RefRatio = float64(sum.P50) / float64(latencyOf(ref).P50)
		}
		results = append(results, r)
	}
	progress("")
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "workers\tsize\twait\trounds/s\tp50\tp90\tp99\tp99.9\tmax\tratio\t")
	ns := func(v int64) string { return time.Duration(v).String() }
	for _, r := range results {
		ratio := "-"
		if r.RefRatio > 0 {
			ratio = fmt.Sprintf("%.1fx", r.RefRatio)
		}
		l := r.Rounds
		fmt.Fprintf(w, "%d\t%d\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Workers, r.Size, r.Wait, l.Throughput, ns(l.P50), ns(l.P90), ns(l.P99), ns(l.P999), ns(l.Max), ratio)
	}
	w.Flush()
	fmt.Printf("\nround = broadcast of one request to every worker process and gather of every reply. ratio (1 worker) = p50 / p50 of raw-atomic (%s in this run).\n", ns(latencyOf(ref).P50))
	return nil
}

// fabricRounds starts a scheduler and n worker processes and measures
// count rounds.
func fabricRounds(ctx context.Context, n, count, warmup, size int, wait ring.WaitStrategy) (hist.Summary, error) {
	s, err := fabric.NewScheduler(fabric.Config{Session: ring.PortableName("bench"), Workers: fabric.WorkerCount(n), Wait: wait})
	if err != nil {
		return hist.Summary{}, err
	}
	var procs []*exec.Cmd
	defer func() {
		s.Close() // the workers read the end of the dispatch ring and exit
		for _, p := range procs {
			p.Wait()
		}
	}()
	for r := range n {
		rc, err := s.Layout().Runner(r)
		if err != nil {
			return hist.Summary{}, err
		}
		cmd, err := startChild(fabricWorkerRole, rc.String())
		if err != nil {
			return hist.Summary{}, err
		}
		if err := cmd.Start(); err != nil {
			return hist.Summary{}, err
		}
		procs = append(procs, cmd)
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.Rendezvous(rctx); err != nil {
		return hist.Summary{}, err
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
			return hist.Summary{}, err
		}
	}
	start := time.Now()
	for range count {
		t0 := time.Now()
		if err := round(); err != nil {
			return hist.Summary{}, err
		}
		rec.Record(time.Since(t0).Nanoseconds())
	}
	return rec.Summary(time.Since(start))
}

// fabricWorker is a worker process: its runner config is the argument; it
// echoes every request until the scheduler closes the fabric.
func fabricWorker(args string) error {
	rc, err := fabric.ParseRunner(args)
	if err != nil {
		return err
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
