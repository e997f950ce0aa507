package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/myelon-go/myelon/bench/chart"
	"github.com/myelon-go/myelon/bench/layers"
	"github.com/myelon-go/myelon/bench/peers"
	"github.com/myelon-go/myelon/bench/workload"
)

// layerPeers maps -layer to the peer measuring that layer.
var layerPeers = map[string]string{"raw": layers.RingName, "framed": layers.FramedName, "typed": layers.TypedName, "zerocopy": layers.ZeroCopyName, "rawview": layers.RawViewName}

// The quick default: the layer ladder against the physical floor (raw
// atomic ping-pong between a measuring and an echo process of this binary)
// and against Unix
// sockets, at two payload sizes.
var (
	ladder       = []string{peers.RawAtomic, layers.RingName, layers.FramedName, layers.TypedName, layers.ZeroCopyName, layers.RawViewName, peers.UnixSocket}
	quickSizes   = []int{64, 4096}
	sweepSizes   = []int{64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 2 << 20}
	sweepDefault = []string{peers.RawAtomic, layers.RingName, layers.FramedName, layers.TypedName, layers.ZeroCopyName, peers.UnixSocket}
)

type benchOpts struct {
	peers     []string
	sizes     []int
	count     int
	warmup    int
	rate      float64
	json      bool
	out       string
	wait      string
	backend   string
	consumers int
	layer     string
	cpus      []int
	batch     int
	repeat    int
	codecs    []string
	records   []int
	modes     []string
	required  bool
}

func parseBenchFlags(name string, args []string, def benchOpts) (benchOpts, error) {
	fs := newFlags("bench " + name)
	o := def
	peerList := fs.String("peers", strings.Join(def.peers, ","), "peers to run, comma-separated (have: "+strings.Join(peers.Names(), ", ")+")")
	sizeList := fs.String("size", joinInts(def.sizes), "message sizes in bytes, comma-separated")
	fs.IntVar(&o.count, "count", def.count, "measured round trips per run")
	fs.IntVar(&o.warmup, "warmup", def.warmup, "unmeasured round trips first")
	fs.Float64Var(&o.rate, "rate", 0, "fixed send rate (msgs/s), latency from the intended send time; 0: as fast as possible")
	fs.BoolVar(&o.json, "json", false, "print results as JSON")
	fs.StringVar(&o.out, "out", def.out, "directory for results.json and charts")
	fs.StringVar(&o.wait, "wait", "spin", "wait strategy of the myelon layers: spin, yield, sleep[:d], block")
	fs.StringVar(&o.backend, "backend", "shm", "segment backend of the myelon layers: shm or file")
	fs.IntVar(&o.consumers, "consumers", 0, "consumer processes of broadcast, signal and typed one-way (0: 2 for broadcast, 1 for the others)")
	fs.IntVar(&o.batch, "batch", 1, "broadcast/signal: events per publish (one cursor store per batch); with -rate, batches go out at rate/batch per second")
	fs.StringVar(&o.layer, "layer", "", "ping-pong: measure one layer (raw, framed, typed, zerocopy, rawview) against the reference instead of the ladder; broadcast and signal: raw or framed")
	cpuList := fs.String("cpus", "", cpusUsage)
	fs.BoolVar(&o.required, "required", false, "ping-pong: the ring lane's producers require the other side's consumer (required-consumer liveness on)")
	fs.IntVar(&o.repeat, "repeat", 1, "runs of every figure (reference interleaved with each lane); more than 1 prints the median and spread of each")
	codecList := fs.String("codec", strings.Join(typedCodecs, ","), "typed: codecs, comma-separated")
	recordList := fs.String("records", joinInts(workload.RecordsPerMessage), "typed: TestPayload records per message, comma-separated")
	modeList := fs.String("mode", strings.Join(typedModes, ","), "typed: one-way (messages/s to -consumers processes), ping-pong (round trip: a message out to one echo process, an 8-byte ack back), or both, comma-separated")
	ops, err := parse(fs, args)
	if err != nil {
		return o, err
	}
	if len(ops) > 0 {
		return o, usagef("unexpected argument %q (the mode comes first)", ops[0])
	}
	if err := onlyModeFlags(fs, name); err != nil {
		return o, err
	}
	if o.repeat < 1 {
		return o, usagef("-repeat %d: want at least 1", o.repeat)
	}
	if o.cpus, err = parseCPUs(*cpuList); err != nil {
		return o, err
	}
	if err := layers.Configure(o.wait, o.backend); err != nil {
		return o, err
	}
	layers.SetRequired(o.required)
	o.codecs = strings.Split(*codecList, ",")
	o.modes = strings.Split(*modeList, ",")
	for _, s := range strings.Split(*recordList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || !slices.Contains(workload.RecordsPerMessage, n) {
			return o, usagef("-records %q: want some of %v", s, workload.RecordsPerMessage)
		}
		o.records = append(o.records, n)
	}
	o.peers = strings.Split(*peerList, ",")
	o.sizes = nil // not [:0]: that would write into the package defaults
	for _, s := range strings.Split(*sizeList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return o, usagef("-size %q: want sizes in bytes", s)
		}
		o.sizes = append(o.sizes, n)
	}
	return o, nil
}

// benchModeFlags lists the flags each mode reads (the modes share one
// flag set, so that help lists them once). A flag given to a mode that
// would ignore it is a usage error: a -rate the typed workload dropped
// would leave a user reading unpaced figures as paced ones.
var benchModeFlags = func() map[string][]string {
	common := []string{"count", "warmup", "json", "wait", "backend", "cpus", "repeat"}
	roundTrip := append(slices.Clone(common), "peers", "size", "rate", "out", "layer", "required")
	pipelined := append(slices.Clone(common), "size", "rate", "consumers", "batch", "layer")
	return map[string][]string{
		"": roundTrip, "pingpong": roundTrip, "peers": roundTrip, "sweep": roundTrip,
		workload.Broadcast: pipelined, workload.Signal: pipelined,
		workload.Typed: append(slices.Clone(common), "consumers", "codec", "records", "mode"),
	}
}()

// onlyModeFlags reports the first flag set on the command line that mode
// does not read.
func onlyModeFlags(fs *flag.FlagSet, mode string) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		if err == nil && !slices.Contains(benchModeFlags[mode], f.Name) {
			name := mode
			if name == "" {
				name = "pingpong"
			}
			err = usagef("-%s does not apply to bench %s", f.Name, name)
		}
	})
	return err
}

// cpusUsage is the help of -cpus, which every bench mode has.
const cpusUsage = "CPUs to pin to, comma-separated: ping-pong and typed -mode ping-pong: the initiator, then the echo process; broadcast, signal and typed one-way: the producer, then the consumers; fabric: the scheduler, then the workers (round-robin over the list)"

// parseCPUs parses a -cpus list ("" is none).
func parseCPUs(list string) ([]int, error) {
	var cpus []int
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, usagef("-cpus %q: want CPU numbers", list)
		}
		cpus = append(cpus, n)
	}
	return cpus, nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// The bench modes, first on the command line: myelon bench [MODE] [flags].
var (
	benchModes       = []string{"pingpong", "peers", "sweep", workload.Broadcast, workload.Signal, workload.Typed, "fabric"}
	benchModeSummary = map[string]string{
		"pingpong":         "the layer ladder against the raw atomic reference and Unix sockets (the default)",
		"peers":            "every transport, with a table and charts",
		"sweep":            "64 B to 2 MiB, JSON and SVG charts",
		workload.Broadcast: "one producer to N consumer processes: throughput and latency per consumer",
		workload.Signal:    "a producer waking parked consumers: wake-up latency",
		workload.Typed:     "TestPayload records per codec, 1-256 per message, one way and ping-pong across processes; view against decode",
		"fabric":           "one scheduler, N worker processes: round latency and rounds/s (-workers 1,2,4)",
	}
)

func runBench(args []string) error {
	mode := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		mode, args = args[0], args[1:]
	}
	var def benchOpts
	switch mode {
	case "", "pingpong":
		def = benchOpts{peers: ladder, sizes: quickSizes, count: 20000, warmup: 2000}
	case "peers":
		def = benchOpts{peers: peers.Names(), sizes: []int{64, 4096}, count: 10000, warmup: 1000, out: "bench-results"}
	case "sweep":
		def = benchOpts{peers: sweepDefault, sizes: sweepSizes, count: 5000, warmup: 500, out: "bench-results"}
	case workload.Broadcast, workload.Signal:
		def = benchOpts{sizes: []int{64}, count: 1_000_000, warmup: 10_000}
	case workload.Typed:
		def = benchOpts{sizes: []int{64}} // count 0: scaled to the records per message
	case "fabric":
		return runBenchFabric(args)
	default:
		return usagef("unknown bench mode %q (want %s)", mode, strings.Join(benchModes, ", "))
	}
	o, err := parseBenchFlags(mode, args, def)
	if err != nil {
		return err
	}
	if mode == workload.Broadcast || mode == workload.Signal {
		return runWorkload(mode, o)
	}
	if mode == workload.Typed {
		return runTyped(o)
	}
	if o.layer != "" {
		p, ok := layerPeers[o.layer]
		if !ok {
			return usagef("-layer %q: want raw, framed, typed, zerocopy or rawview", o.layer)
		}
		o.peers = []string{p}
	}
	results, err := measure(context.Background(), o)
	if err != nil {
		return err
	}
	if o.json {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	printTable(os.Stdout, results)
	if o.out != "" {
		files, err := writeOutputs(o.out, results)
		if err != nil {
			return err
		}
		fmt.Printf("\nwrote %s\n", strings.Join(files, ", "))
	}
	if mode == "" {
		fmt.Println("\nratio = p50 / p50 of raw-atomic, run next to it (an atomic ping-pong between this process and an echo process of this binary over as many slots of the same size as the ring lane: its footprint without its protocol, a lower bound).")
		fmt.Println("More: 'myelon bench peers' (every transport, table and chart), 'myelon bench sweep' (64 B to 2 MiB, JSON and SVG charts in ./bench-results).")
	}
	return nil
}

// progress shows what is running: rewritten in place on a terminal, one
// line per step in a log. An empty format clears the terminal line.
func progress(format string, args ...any) {
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		fmt.Fprintf(os.Stderr, "\r%-60s\r", fmt.Sprintf(format, args...))
		return
	}
	if format != "" {
		fmt.Fprintf(os.Stderr, "  "+format+"\n", args...)
	}
}

// writeOutputs writes results.json and latency/throughput charts (SVG).
// The charts plot the medians.
func writeOutputs(dir string, results []laneSummary) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	js, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return nil, err
	}
	files := []string{filepath.Join(dir, "results.json")}
	if err := os.WriteFile(files[0], js, 0o644); err != nil {
		return nil, err
	}
	byPeer := map[string]*[2]chart.Series{}
	var order []string
	for _, r := range results {
		s, ok := byPeer[r.Peer]
		if !ok {
			s = &[2]chart.Series{{Name: r.Peer}, {Name: r.Peer}}
			byPeer[r.Peer] = s
			order = append(order, r.Peer)
		}
		s[0].Points = append(s[0].Points, chart.Point{X: float64(r.Size), Y: r.P50.Median})
		s[1].Points = append(s[1].Points, chart.Point{X: float64(r.Size), Y: float64(r.Size) * r.Throughput.Median})
	}
	lat := chart.Chart{Title: "Round-trip latency p50 vs payload", XLabel: "payload", YLabel: "p50 round trip",
		XScale: chart.Log2, YScale: chart.Log10, XFormat: chart.FormatBytes, YFormat: chart.FormatNanos}
	thr := chart.Chart{Title: "Ping-pong throughput vs payload (one message in flight)", XLabel: "payload", YLabel: "bytes/s one way",
		XScale: chart.Log2, YScale: chart.Log10, XFormat: chart.FormatBytes, YFormat: chart.FormatBytes}
	for _, p := range order {
		lat.Series = append(lat.Series, byPeer[p][0])
		thr.Series = append(thr.Series, byPeer[p][1])
	}
	perSec := func(v float64) string { return chart.FormatBytes(v) + "/s" }
	thr.YFormat = perSec
	for _, out := range []struct {
		name string
		c    chart.Chart
	}{{"latency.svg", lat}, {"throughput.svg", thr}} {
		c := out.c
		path := filepath.Join(dir, out.name)
		f, err := os.Create(path)
		if err != nil {
			return files, err
		}
		err = c.WriteSVG(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return files, fmt.Errorf("%s: %w", path, err)
		}
		files = append(files, path)
	}
	return files, nil
}
