package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/myelon-go/myelon/bench/chart"
	"github.com/myelon-go/myelon/bench/hist"
	"github.com/myelon-go/myelon/bench/layers"
	"github.com/myelon-go/myelon/bench/peers"
	"github.com/myelon-go/myelon/bench/repeat"
)

// anomalyRatio is the ratio to the reference below which a lane's figure
// is an anomaly: the reference has the lane's footprint and access
// pattern without its protocol, so on an undisturbed host no lane beats
// it; a ratio below this says the run was disturbed (or the reference is
// broken), not that the lane is faster than the hardware.
const anomalyRatio = 0.95

// benchResult is one run of one lane, with its ratio to the reference run
// made next to it at the same size.
type benchResult struct {
	peers.Result
	// Run numbers the repetition, from 0.
	Run int `json:"run"`
	// RefP50 is the p50 of the reference run next to this one, in ns.
	RefP50   int64   `json:"reference_p50_ns,omitempty"`
	RefRatio float64 `json:"ratio_to_raw_atomic_p50,omitempty"`
	// Anomaly: RefRatio is below anomalyRatio.
	Anomaly bool `json:"anomaly,omitempty"`
	// Required: the ring lane ran with the required-consumer policy on
	// (-required).
	Required bool `json:"required_consumers,omitempty"`
}

// laneSummary is one lane at one size over every repetition: each figure's
// median, range and spread.
type laneSummary struct {
	Peer       string      `json:"adapter"`
	Size       int         `json:"message_size"`
	Repeats    int         `json:"repeats"`
	P50        repeat.Stat `json:"p50_ns"`
	P90        repeat.Stat `json:"p90_ns"`
	P99        repeat.Stat `json:"p99_ns"`
	P999       repeat.Stat `json:"p999_ns"`
	Max        repeat.Stat `json:"max_ns"`
	Throughput repeat.Stat `json:"round_trips_per_sec"`
	// Ratio is over the runs' ratios to their own reference run; nil for
	// the reference.
	Ratio *repeat.Stat `json:"ratio_to_raw_atomic_p50,omitempty"`
	// Anomaly: the median ratio is below anomalyRatio.
	Anomaly bool `json:"anomaly"`
	// Noisy: the p50 or the ratio spread more than repeat.NoisySpread
	// across the runs.
	Noisy bool          `json:"noisy"`
	CPUs  []int         `json:"cpus,omitempty"`
	Runs  []benchResult `json:"runs"`
}

// latencyOf is the latency a table shows: in fixed-rate mode, measured
// from the intended send time (coordinated omission corrected).
func latencyOf(r peers.Result) hist.Summary {
	if r.Corrected != nil {
		return *r.Corrected
	}
	return r.Latency
}

// measure runs every lane o.repeat times at every size. The reference runs
// next to each run of each lane (just before it in even repetitions, just
// after in odd ones), so that every ratio compares two runs made moments
// apart; with no lane besides the reference, the reference runs alone. A lane that fails is reported and skipped; a reference that
// fails ends the measurement, since no ratio can be made without it.
func measure(ctx context.Context, o benchOpts) ([]laneSummary, error) {
	lanes := slices.DeleteFunc(slices.Clone(o.peers), func(p string) bool { return p == peers.RawAtomic })
	var out []laneSummary
	for _, size := range o.sizes {
		cfg := peers.Config{Size: size, Count: o.count, Warmup: o.warmup, Rate: o.rate, CPUs: o.cpus}
		run := func(name string, rep int) (peers.Result, error) {
			progress("%-16s %8d B  run %d/%d ...", name, size, rep+1, o.repeat)
			return peers.Run(ctx, name, cfg)
		}
		var ref []benchResult
		runs := make([][]benchResult, len(lanes))
		for rep := range o.repeat {
			for i := range max(len(lanes), 1) {
				if len(lanes) == 0 {
					r, err := run(peers.RawAtomic, rep)
					if err != nil {
						return out, err
					}
					ref = append(ref, benchResult{Result: r, Run: rep})
					continue
				}
				// The pair runs reference first in even repetitions and
				// lane first in odd ones (ABBA), so that a drift of the
				// host's load over the pair favours neither side.
				var l peers.Result
				var lerr error
				if rep%2 == 1 {
					l, lerr = run(lanes[i], rep)
				}
				r, err := run(peers.RawAtomic, rep)
				if err != nil {
					return out, err
				}
				if rep%2 == 0 {
					l, lerr = run(lanes[i], rep)
				}
				ref = append(ref, benchResult{Result: r, Run: rep})
				if lerr != nil {
					if errors.Is(lerr, context.Canceled) {
						return out, lerr
					}
					fmt.Fprintf(os.Stderr, "myelon bench: %s at %d B: %v\n", lanes[i], size, lerr)
					continue
				}
				refP50 := latencyOf(r).P50
				ratio := float64(latencyOf(l).P50) / float64(refP50)
				runs[i] = append(runs[i], benchResult{Result: l, Run: rep, RefP50: refP50, RefRatio: ratio, Anomaly: ratio < anomalyRatio,
					Required: o.required && lanes[i] == layers.RingName})
			}
		}
		for i, rs := range append([][]benchResult{ref}, runs...) {
			if len(rs) == 0 {
				continue
			}
			s, err := summarise(rs, i > 0)
			if err != nil {
				return out, err
			}
			out = append(out, s)
		}
	}
	progress("")
	return out, nil
}

// summarise makes the summary of one lane's runs at one size; withRatio
// for a lane measured against the reference.
func summarise(runs []benchResult, withRatio bool) (laneSummary, error) {
	r0 := runs[0]
	s := laneSummary{Peer: r0.Peer, Size: r0.Size, Repeats: len(runs), CPUs: r0.CPUs, Runs: runs}
	lat := func(f func(hist.Summary) int64) func(benchResult) float64 {
		return func(r benchResult) float64 { return float64(f(latencyOf(r.Result))) }
	}
	err := summariseFigures(runs,
		figure[benchResult]{&s.P50, lat(func(l hist.Summary) int64 { return l.P50 })},
		figure[benchResult]{&s.P90, lat(func(l hist.Summary) int64 { return l.P90 })},
		figure[benchResult]{&s.P99, lat(func(l hist.Summary) int64 { return l.P99 })},
		figure[benchResult]{&s.P999, lat(func(l hist.Summary) int64 { return l.P999 })},
		figure[benchResult]{&s.Max, lat(func(l hist.Summary) int64 { return l.Max })},
		figure[benchResult]{&s.Throughput, func(r benchResult) float64 { return r.Latency.Throughput }})
	if err != nil {
		return s, err
	}
	s.Noisy = s.P50.Noisy()
	if withRatio {
		ratios := make([]float64, len(runs))
		for i, r := range runs {
			ratios[i] = r.RefRatio
		}
		s.Ratio, s.Anomaly, s.Noisy, err = summariseRatio(ratios, s.Noisy)
	}
	return s, err
}

// figure is one figure of a run of type R: where its summary goes, and
// how to read it from a run.
type figure[R any] struct {
	dst *repeat.Stat
	of  func(R) float64
}

// summariseFigures summarises each figure over runs.
func summariseFigures[R any](runs []R, figures ...figure[R]) error {
	v := make([]float64, len(runs))
	for _, fig := range figures {
		for i, r := range runs {
			v[i] = fig.of(r)
		}
		st, err := repeat.Of(v)
		if err != nil {
			return err
		}
		*fig.dst = st
	}
	return nil
}

// summariseRatio summarises a lane's ratios to the reference: the
// summary, whether its median is an anomaly, and whether the lane is
// noisy (already, or by the ratio's spread).
func summariseRatio(ratios []float64, noisy bool) (*repeat.Stat, bool, bool, error) {
	st, err := repeat.Of(ratios)
	if err != nil {
		return nil, false, noisy, err
	}
	return &st, st.Median < anomalyRatio, noisy || st.Noisy(), nil
}

// printTable prints the summaries: medians, and with repeats the spread of
// the p50 and the range of the ratio; then what the marks mean.
func printTable(w io.Writer, results []laneSummary) {
	if len(results) == 0 {
		return
	}
	first := results[0].Runs[0]
	if first.Corrected != nil {
		fmt.Fprintf(w, "fixed rate %.0f msgs/s: latency from each message's intended send time (coordinated omission corrected); round trips/s is the achieved rate\n\n", first.TargetRate)
	}
	repeated := slices.ContainsFunc(results, func(s laneSummary) bool { return s.Repeats > 1 })
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	head := "peer\tsize\tp50\tp90\tp99\tp99.9\tmax\tround trips/s\tratio\t"
	if repeated {
		head = "peer\tsize\truns\tp50\tp50 spread\tp90\tp99\tp99.9\tmax\tround trips/s\tratio\tratio range\t"
	}
	fmt.Fprintln(tw, head+"\t")
	ns := func(v float64) string { return time.Duration(v).String() }
	var fl flags
	for _, s := range results {
		ratio, rng := ratioCols(s.Ratio)
		marks := fl.mark(fmt.Sprintf("%s at %s", s.Peer, chart.FormatBytes(float64(s.Size))), s.Anomaly, s.Noisy)
		cols := []string{s.Peer, chart.FormatBytes(float64(s.Size))}
		if repeated {
			cols = append(cols, fmt.Sprint(s.Repeats), ns(s.P50.Median), fmt.Sprintf("%.0f%%", 100*s.P50.Spread))
		} else {
			cols = append(cols, ns(s.P50.Median))
		}
		cols = append(cols, ns(s.P90.Median), ns(s.P99.Median), ns(s.P999.Median), ns(s.Max.Median), fmt.Sprintf("%.0f", s.Throughput.Median), ratio)
		if repeated {
			cols = append(cols, rng)
		}
		fmt.Fprintln(tw, strings.Join(cols, "\t")+"\t"+marks+"\t")
	}
	tw.Flush()
	if repeated {
		fmt.Fprintln(w, "\nEach figure is the median of its runs; p50 spread = (max - min) / median of the runs' p50s. The reference ran next to every run of every lane (before it in odd-numbered runs, after it in even ones); a run's ratio is to that reference run, and ratio range spans the runs.")
	}
	fl.notes(w, "The reference moves the same bytes through the same slots as the ring lane without its protocol, so no lane beats it on an undisturbed host", "p50 or ratio")
}

// ratioCols formats a ratio and its range for a table ("1.00x" and "-"
// for the reference, which has none).
func ratioCols(r *repeat.Stat) (ratio, rng string) {
	if r == nil {
		return "1.00x", "-"
	}
	return fmt.Sprintf("%.2fx", r.Median), fmt.Sprintf("%.2f-%.2fx", r.Min, r.Max)
}

// flags collects the rows of a table flagged ANOMALY or noisy, for the
// marks in each row and the notes below the table.
type flags struct{ anomalies, noisy []string }

// mark records a row's flags and returns its marks column.
func (f *flags) mark(name string, anomaly, noisy bool) string {
	var m []string
	if anomaly {
		m, f.anomalies = append(m, "ANOMALY"), append(f.anomalies, name)
	}
	if noisy {
		m, f.noisy = append(m, "noisy"), append(f.noisy, name)
	}
	return strings.Join(m, " ")
}

// notes explains the flags: why an anomaly cannot be real (why), and
// which figures spread (what).
func (f *flags) notes(w io.Writer, why, what string) {
	if len(f.anomalies) > 0 {
		fmt.Fprintf(w, "\nANOMALY (%s): ratio below %.2f. %s: the run was disturbed; rerun with -repeat.\n", strings.Join(f.anomalies, ", "), anomalyRatio, why)
	}
	if len(f.noisy) > 0 {
		fmt.Fprintf(w, "\nwarning: the host was noisy: the runs of %s disagree by more than %.0f%% of their median (%s); trust the medians less; rerun on a quieter host (or pinned with -cpus, where the mode has it).\n",
			strings.Join(f.noisy, ", "), 100*repeat.NoisySpread, what)
	}
}
