package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/myelon-go/myelon/bench/chart"
	"github.com/myelon-go/myelon/bench/repeat"
	"github.com/myelon-go/myelon/bench/workload"
)

// workloadLanes maps -layer to the lane broadcast and signal run on.
var workloadLanes = map[string]string{"": workload.LaneRing, "raw": workload.LaneRing, "framed": workload.LaneFramed}

// workloadSummary is one lane of broadcast or signal at one size over
// every repetition.
type workloadSummary struct {
	Workload  string `json:"workload"`
	Lane      string `json:"lane"`
	Size      int    `json:"size"`
	Consumers int    `json:"consumers"`
	Batch     int    `json:"batch"`
	Wait      string `json:"wait"`
	Repeats   int    `json:"repeats"`
	// Throughput is events published per second.
	Throughput repeat.Stat `json:"events_per_sec"`
	// P50 and P99 are the worst consumer's one-way latency, in ns.
	P50 repeat.Stat `json:"p50_ns"`
	P99 repeat.Stat `json:"p99_ns"`
	// Ratio is, per run, the reference's events/s over the lane's (the
	// time per event against the reference run next to it); nil for the
	// reference.
	Ratio   *repeat.Stat      `json:"ratio_to_reference,omitempty"`
	Anomaly bool              `json:"anomaly"`
	Noisy   bool              `json:"noisy"`
	Runs    []workload.Result `json:"runs"`
}

// runWorkload runs broadcast or signal at every size, o.repeat times,
// each run of the lane next to a run of the reference lane between the
// same number of processes.
func runWorkload(mode string, o benchOpts) error {
	lane, ok := workloadLanes[o.layer]
	if !ok {
		return usagef("-layer %q: broadcast and signal run on raw or framed", o.layer)
	}
	consumers := o.consumers
	if consumers == 0 {
		consumers = map[string]int{workload.Broadcast: 2, workload.Signal: 1}[mode]
	}
	wait := o.wait
	if wait == "spin" && consumers > 1 {
		wait = "yield" // more spinners than cores would measure the scheduler
	}
	ctx := context.Background()
	var out []workloadSummary
	for _, size := range o.sizes {
		cfg := workload.Config{Workload: mode, Size: size, Count: o.count, Warmup: o.warmup,
			Consumers: consumers, Rate: o.rate, Wait: wait, Backend: o.backend, CPUs: o.cpus, Batch: o.batch}
		var refs, runs []workload.Result
		var ratios []float64
		for rep := range o.repeat {
			// Reference first in even repetitions, lane first in odd
			// ones (ABBA), so that a drift of the host's load over the
			// pair favours neither side.
			pair := []string{workload.LaneReference, lane}
			if rep%2 == 1 {
				pair = []string{lane, workload.LaneReference}
			}
			var ref, run workload.Result
			for _, l := range pair {
				progress("%-9s %-9s %8d B  run %d/%d ...", mode, l, size, rep+1, o.repeat)
				c := cfg
				c.Lane = l
				r, err := workload.Run(ctx, c)
				if err != nil {
					return fmt.Errorf("%s on %s, %d B: %w", mode, l, size, err)
				}
				if l == workload.LaneReference {
					ref = r
				} else {
					run = r
				}
			}
			refs, runs = append(refs, ref), append(runs, run)
			ratios = append(ratios, ref.Throughput/run.Throughput)
		}
		for _, row := range []struct {
			runs   []workload.Result
			ratios []float64
		}{{refs, nil}, {runs, ratios}} {
			s, err := summariseWorkload(row.runs, row.ratios)
			if err != nil {
				return err
			}
			out = append(out, s)
		}
	}
	progress("")
	if o.json {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	printWorkloadTable(os.Stdout, out)
	return nil
}

// summariseWorkload summarises one lane's runs; ratios are the runs'
// ratios to the reference, nil for the reference itself.
func summariseWorkload(runs []workload.Result, ratios []float64) (workloadSummary, error) {
	c := runs[0].Config
	s := workloadSummary{Workload: c.Workload, Lane: c.Lane, Size: c.Size, Consumers: c.Consumers, Batch: c.Batch, Wait: c.Wait, Repeats: len(runs), Runs: runs}
	err := summariseFigures(runs,
		figure[workload.Result]{&s.Throughput, func(r workload.Result) float64 { return r.Throughput }},
		figure[workload.Result]{&s.P50, func(r workload.Result) float64 { return float64(r.Worst.P50) }},
		figure[workload.Result]{&s.P99, func(r workload.Result) float64 { return float64(r.Worst.P99) }})
	if err != nil {
		return s, err
	}
	s.Noisy = s.Throughput.Noisy()
	if ratios != nil {
		s.Ratio, s.Anomaly, s.Noisy, err = summariseRatio(ratios, s.Noisy)
	}
	return s, err
}

// printWorkloadTable prints the summaries of broadcast or signal.
func printWorkloadTable(w io.Writer, rows []workloadSummary) {
	repeated := slices.ContainsFunc(rows, func(s workloadSummary) bool { return s.Repeats > 1 })
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	head := "workload\tlane\tsize\tconsumers\tbatch\twait\tevents/s\tbytes/s\tworst p50\tp99\tratio\t"
	if repeated {
		head = "workload\tlane\tsize\tconsumers\tbatch\twait\truns\tevents/s\tspread\tbytes/s\tworst p50\tp99\tratio\tratio range\t"
	}
	fmt.Fprintln(tw, head+"\t")
	ns := func(v float64) string { return time.Duration(v).String() }
	var fl flags
	for _, s := range rows {
		ratio, rng := ratioCols(s.Ratio)
		marks := fl.mark(fmt.Sprintf("%s on %s at %s", s.Workload, s.Lane, chart.FormatBytes(float64(s.Size))), s.Anomaly, s.Noisy)
		cols := []string{s.Workload, s.Lane, chart.FormatBytes(float64(s.Size)), fmt.Sprint(s.Consumers), fmt.Sprint(s.Batch), s.Wait}
		if repeated {
			cols = append(cols, fmt.Sprint(s.Repeats), fmt.Sprintf("%.0f", s.Throughput.Median), fmt.Sprintf("%.0f%%", 100*s.Throughput.Spread))
		} else {
			cols = append(cols, fmt.Sprintf("%.0f", s.Throughput.Median))
		}
		cols = append(cols, chart.FormatBytes(s.Throughput.Median*float64(s.Size)), ns(s.P50.Median), ns(s.P99.Median), ratio)
		if repeated {
			cols = append(cols, rng)
		}
		fmt.Fprintln(tw, strings.Join(cols, "\t")+"\t"+marks+"\t")
	}
	tw.Flush()
	fmt.Fprintln(w, "\nratio = reference events/s / lane events/s in the run next to it (time per event against the reference: a minimal ring between the same processes, one atomic store per publish and per consumer batch).")
	fmt.Fprintln(w, "latency is one-way (send stamp to read) of the worst consumer; in max-throughput mode it includes queueing in a full ring.")
	if repeated {
		fmt.Fprintln(w, "Each figure is the median of its runs; spread = (max - min) / median of events/s.")
	}
	fl.notes(w, "The lane outran the reference, which does less per event", "events/s or ratio")
}
