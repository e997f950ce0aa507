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

// typedCodecs are the codecs of `myelon bench typed`.
var typedCodecs = []string{workload.CodecBincode, workload.CodecMsgpack, workload.CodecFlatbuffers, workload.CodecRaw}

// accessTime is how long each side of an access-vs-decode comparison runs.
const accessTime = 50 * time.Millisecond

// typedSummary is one codec, batch size and access of the typed workload
// over every repetition.
type typedSummary struct {
	Codec   string `json:"codec"`
	Records int    `json:"records"`
	Access  string `json:"access"`
	Bytes   int    `json:"message_bytes"`
	Repeats int    `json:"repeats"`
	// Messages is messages sent per second; records per second are
	// Messages times Records.
	Messages repeat.Stat       `json:"messages_per_sec"`
	Noisy    bool              `json:"noisy"`
	Runs     []workload.Result `json:"runs"`
}

// typedReport is the JSON of `myelon bench typed`.
type typedReport struct {
	OneWay         []typedSummary          `json:"one_way"`
	AccessVsDecode []workload.AccessResult `json:"access_vs_decode"`
}

// runTyped runs the typed workload for every codec, batch size and access
// (decode, and view where the codec has one), then compares access with
// decode in one process.
func runTyped(o benchOpts) error {
	for _, c := range o.codecs {
		if !slices.Contains(typedCodecs, c) {
			return usagef("-codec %q: want some of %s", c, strings.Join(typedCodecs, ","))
		}
	}
	wait := o.wait
	if wait == "spin" && o.consumers > 1 {
		wait = "yield" // more spinners than cores would measure the scheduler
	}
	var rep typedReport
	for _, codec := range o.codecs {
		for _, n := range o.records {
			count := o.count
			if count == 0 {
				count = max(200, 64<<10/n) // about 64 Ki records
			}
			accesses := []string{workload.AccessDecode}
			if workload.HasView(codec) {
				accesses = append(accesses, workload.AccessView)
			}
			for _, access := range accesses {
				var runs []workload.Result
				for r := range o.repeat {
					progress("typed %-11s %3d records, %-6s run %d/%d ...", codec, n, access, r+1, o.repeat)
					res, err := workload.Run(context.Background(), workload.Config{Workload: workload.Typed, Codec: codec, Records: n, Access: access,
						Count: count, Warmup: o.warmup, Consumers: o.consumers, Wait: wait, Backend: o.backend, CPUs: o.cpus})
					if err != nil {
						return fmt.Errorf("typed %s, %d records, %s: %w", codec, n, access, err)
					}
					runs = append(runs, res)
				}
				v := make([]float64, len(runs))
				for i, r := range runs {
					v[i] = r.Throughput
				}
				st, err := repeat.Of(v)
				if err != nil {
					return err
				}
				rep.OneWay = append(rep.OneWay, typedSummary{Codec: codec, Records: n, Access: access, Bytes: runs[0].Config.Size,
					Repeats: len(runs), Messages: st, Noisy: st.Noisy(), Runs: runs})
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

func printTyped(w io.Writer, rep typedReport) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "codec\trecords\taccess\tmessage\truns\tmessages/s\tspread\trecords/s\tbytes/s\t\t")
	var noisy []string
	for _, s := range rep.OneWay {
		mark := ""
		if s.Noisy {
			mark = "noisy"
			noisy = append(noisy, fmt.Sprintf("%s/%d/%s", s.Codec, s.Records, s.Access))
		}
		m := s.Messages.Median
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%.0f\t%.0f%%\t%.0f\t%s/s\t%s\t\n", s.Codec, s.Records, s.Access, chart.FormatBytes(float64(s.Bytes)), s.Repeats,
			m, 100*s.Messages.Spread, m*float64(s.Records), chart.FormatBytes(m*float64(s.Bytes)), mark)
	}
	tw.Flush()
	fmt.Fprintln(w, "\none way, producer process to consumer process(es) through a typed ring (one message per frame): the producer encodes, each consumer decodes (or views) and checks every record; medians of the runs.")
	if len(noisy) > 0 {
		fmt.Fprintf(w, "warning: the host was noisy: the runs of %s disagree by more than %.0f%% of their median.\n", strings.Join(noisy, ", "), 100*repeat.NoisySpread)
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "codec\trecords\tmessage\tdecode\tview\tspeedup\t")
	for _, a := range rep.AccessVsDecode {
		view, speedup := "-", "-"
		if a.ViewNs > 0 {
			view, speedup = time.Duration(a.ViewNs).String(), fmt.Sprintf("%.1fx", a.Speedup)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t\n", a.Codec, a.Records, chart.FormatBytes(float64(a.Bytes)), time.Duration(a.DecodeNs), view, speedup)
	}
	tw.Flush()
	fmt.Fprintln(w, "\naccess vs decode, one goroutine, one message: decode into an owned value then check every record, against the zero-copy view (flatbuffers verifies the buffer) then the same checks; speedup = decode / view.")
}
