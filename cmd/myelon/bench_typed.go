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
	"github.com/myelon-go/myelon/bench/hist"
	"github.com/myelon-go/myelon/bench/repeat"
	"github.com/myelon-go/myelon/bench/workload"
)

// typedCodecs are the codecs of `myelon bench typed`.
var typedCodecs = []string{workload.CodecBincode, workload.CodecMsgpack, workload.CodecFlatbuffers, workload.CodecRaw}

// accessTime is how long each side of an access-vs-decode comparison runs.
const accessTime = 50 * time.Millisecond

// typedModes are the modes of `myelon bench typed`, in the order they run.
var typedModes = []string{workload.OneWay, workload.PingPong}

// typedRow names one codec, batch size and access of the typed workload
// and how many runs it had.
type typedRow struct {
	Codec   string `json:"codec"`
	Records int    `json:"records"`
	Access  string `json:"access"`
	Bytes   int    `json:"message_bytes"`
	Repeats int    `json:"repeats"`
}

// typedSummary is one row of the typed workload one way, over every
// repetition.
type typedSummary struct {
	typedRow
	// Messages is messages sent per second; records per second are
	// Messages times Records.
	Messages repeat.Stat       `json:"messages_per_sec"`
	Noisy    bool              `json:"noisy"`
	Runs     []workload.Result `json:"runs"`
}

// typedPingPong is one row of the typed ping-pong over every repetition:
// the round trip (batch out, ack back; see bench/workload's pingpong.go)
// in ns, and round trips per second (one message in flight).
type typedPingPong struct {
	typedRow
	P50        repeat.Stat `json:"p50_ns"`
	P99        repeat.Stat `json:"p99_ns"`
	P999       repeat.Stat `json:"p999_ns"`
	RoundTrips repeat.Stat `json:"round_trips_per_sec"`
	// Noisy: the p50 spread more than repeat.NoisySpread across the runs.
	Noisy bool              `json:"noisy"`
	CPUs  []int             `json:"cpus,omitempty"`
	Runs  []workload.Result `json:"runs"`
}

// typedReport is the JSON of `myelon bench typed`; a mode not run is
// null (one_way) or absent (ping_pong).
type typedReport struct {
	OneWay         []typedSummary          `json:"one_way"`
	PingPong       []typedPingPong         `json:"ping_pong,omitempty"`
	AccessVsDecode []workload.AccessResult `json:"access_vs_decode"`
}

// runTyped runs the typed workload in each mode of o.modes for every
// codec, batch size and access (decode, and view where the codec has
// one), then compares access with decode in one process.
func runTyped(o benchOpts) error {
	for _, c := range o.codecs {
		if !slices.Contains(typedCodecs, c) {
			return usagef("-codec %q: want some of %s", c, strings.Join(typedCodecs, ","))
		}
	}
	for _, m := range o.modes {
		if !slices.Contains(typedModes, m) {
			return usagef("-mode %q: want some of %s", m, strings.Join(typedModes, ","))
		}
	}
	wait := o.wait
	if wait == "spin" && o.consumers > 1 {
		wait = "yield" // more spinners than cores would measure the scheduler
	}
	var rep typedReport
	for _, codec := range o.codecs {
		for _, n := range o.records {
			accesses := []string{workload.AccessDecode}
			if workload.HasView(codec) {
				accesses = append(accesses, workload.AccessView)
			}
			for _, access := range accesses {
				for _, mode := range typedModes {
					if !slices.Contains(o.modes, mode) {
						continue
					}
					if err := rep.add(typedConfig(o, mode, codec, n, access, wait), o.repeat); err != nil {
						return err
					}
				}
			}
			progress("access vs decode %-11s %3d records ...", codec, n)
			a, err := workload.AccessVsDecode(codec, n, accessTime)
			if err != nil {
				return err
			}
			rep.AccessVsDecode = append(rep.AccessVsDecode, a)
		}
	}
	progress("")
	if o.json {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printTyped(os.Stdout, rep)
	return nil
}

// typedConfig is the run of one row of the typed workload in mode. A
// ping-pong has one echo process, which may spin whatever -consumers says
// (wait is the one-way runs' wait strategy).
func typedConfig(o benchOpts, mode, codec string, records int, access, wait string) workload.Config {
	cfg := workload.Config{Workload: workload.Typed, Mode: mode, Codec: codec, Records: records, Access: access,
		Count: o.count, Warmup: o.warmup, Consumers: o.consumers, Wait: wait, Backend: o.backend, CPUs: o.cpus}
	switch {
	case mode == workload.PingPong:
		cfg.Consumers, cfg.Wait = 1, o.wait
		if cfg.Count == 0 {
			cfg.Count = max(2000, 16<<10/records) // enough samples for a p99.9
		}
		if cfg.Warmup == 0 {
			cfg.Warmup = cfg.Count / 10
		}
	case cfg.Count == 0:
		cfg.Count = max(200, 64<<10/records) // about 64 Ki records
	}
	return cfg
}

// add runs cfg repeats times and adds its row to the report.
func (rep *typedReport) add(cfg workload.Config, repeats int) error {
	runs, err := typedRuns(cfg, repeats)
	if err != nil {
		return err
	}
	row := typedRow{Codec: cfg.Codec, Records: cfg.Records, Access: cfg.Access, Bytes: runs[0].Config.Size, Repeats: len(runs)}
	if cfg.Mode == workload.PingPong {
		s, err := summarisePingPong(row, runs)
		if err != nil {
			return err
		}
		rep.PingPong = append(rep.PingPong, s)
		return nil
	}
	s := typedSummary{typedRow: row, Runs: runs}
	if err := summariseFigures(runs, figure[workload.Result]{&s.Messages, func(r workload.Result) float64 { return r.Throughput }}); err != nil {
		return err
	}
	s.Noisy = s.Messages.Noisy()
	rep.OneWay = append(rep.OneWay, s)
	return nil
}

// name is how tables and warnings name the row.
func (r typedRow) name() string { return fmt.Sprintf("%s/%d/%s", r.Codec, r.Records, r.Access) }

// typedRuns runs cfg repeats times.
func typedRuns(cfg workload.Config, repeats int) ([]workload.Result, error) {
	var runs []workload.Result
	for r := range repeats {
		progress("typed %-9s %-11s %3d records, %-6s run %d/%d ...", cfg.Mode, cfg.Codec, cfg.Records, cfg.Access, r+1, repeats)
		res, err := workload.Run(context.Background(), cfg)
		if err != nil {
			return nil, fmt.Errorf("typed %s %s, %d records, %s: %w", cfg.Mode, cfg.Codec, cfg.Records, cfg.Access, err)
		}
		runs = append(runs, res)
	}
	return runs, nil
}

// summarisePingPong summarises the ping-pong runs of one row.
func summarisePingPong(row typedRow, runs []workload.Result) (typedPingPong, error) {
	s := typedPingPong{typedRow: row, CPUs: runs[0].Config.CPUs, Runs: runs}
	lat := func(f func(hist.Summary) int64) func(workload.Result) float64 {
		return func(r workload.Result) float64 { return float64(f(*r.RoundTrip)) }
	}
	err := summariseFigures(runs,
		figure[workload.Result]{&s.P50, lat(func(l hist.Summary) int64 { return l.P50 })},
		figure[workload.Result]{&s.P99, lat(func(l hist.Summary) int64 { return l.P99 })},
		figure[workload.Result]{&s.P999, lat(func(l hist.Summary) int64 { return l.P999 })},
		figure[workload.Result]{&s.RoundTrips, func(r workload.Result) float64 { return r.Throughput }})
	s.Noisy = s.P50.Noisy()
	return s, err
}

func printTyped(w io.Writer, rep typedReport) {
	if len(rep.OneWay) > 0 {
		printTypedOneWay(w, rep.OneWay)
		fmt.Fprintln(w)
	}
	if len(rep.PingPong) > 0 {
		printTypedPingPong(w, rep.PingPong)
		fmt.Fprintln(w)
	}
	printAccessVsDecode(w, rep.AccessVsDecode)
}

func printTypedOneWay(w io.Writer, rows []typedSummary) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "codec\trecords\taccess\tmessage\truns\tmessages/s\tspread\trecords/s\tbytes/s\t\t")
	var fl flags
	for _, s := range rows {
		m := s.Messages.Median
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%.0f\t%.0f%%\t%.0f\t%s/s\t%s\t\n", s.Codec, s.Records, s.Access, chart.FormatBytes(float64(s.Bytes)), s.Repeats,
			m, 100*s.Messages.Spread, m*float64(s.Records), chart.FormatBytes(m*float64(s.Bytes)), fl.mark(s.name(), false, s.Noisy))
	}
	tw.Flush()
	fmt.Fprintln(w, "\none way, producer process to consumer process(es) through a typed ring (one message per frame): the producer encodes, each consumer decodes (or views) and checks every record; medians of the runs.")
	fl.notes(w, "", "messages/s")
}

func printTypedPingPong(w io.Writer, rows []typedPingPong) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "codec\trecords\taccess\tmessage\truns\tp50\tp50 spread\tp99\tp99.9\tround trips/s\trecords/s\t\t")
	ns := func(v float64) string { return time.Duration(v).String() }
	var fl flags
	for _, s := range rows {
		marks := fl.mark(s.name(), false, s.Noisy)
		rt := s.RoundTrips.Median
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\t%.0f%%\t%s\t%s\t%.0f\t%.0f\t%s\t\n", s.Codec, s.Records, s.Access, chart.FormatBytes(float64(s.Bytes)), s.Repeats,
			ns(s.P50.Median), 100*s.P50.Spread, ns(s.P99.Median), ns(s.P999.Median), rt, rt*float64(s.Records), marks)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nping-pong, one message in flight: the initiator encodes and sends a message on a typed ring, the echo process decodes (or views) and checks every record and answers with an 8-byte ack on a frame ring; round trip = send to ack received, every codec and access paying the same ack leg; medians of the runs.")
	fl.notes(w, "", "p50")
}

func printAccessVsDecode(w io.Writer, rows []workload.AccessResult) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "codec\trecords\tmessage\tdecode\tview\tspeedup\t")
	for _, a := range rows {
		view, speedup := "-", "-"
		if a.ViewNs > 0 {
			view, speedup = time.Duration(a.ViewNs).String(), fmt.Sprintf("%.1fx", a.Speedup)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t\n", a.Codec, a.Records, chart.FormatBytes(float64(a.Bytes)), time.Duration(a.DecodeNs), view, speedup)
	}
	tw.Flush()
	fmt.Fprintln(w, "\naccess vs decode, one goroutine, one message: decode into an owned value then check every record, against the zero-copy view (flatbuffers verifies the buffer) then the same checks; speedup = decode / view.")
}
