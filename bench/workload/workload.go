// Package workload runs the workloads of `myelon bench` other than the
// byte ping-pong, each truly multi-process (the binary re-executes itself
// for every consumer):
//
//   - broadcast: one producer, N consumer processes, every consumer reads
//     every event; reports each consumer's one-way latency, the worst
//     consumer and the throughput.
//   - signal: 64-byte events to one consumer (or several) with no
//     acknowledgement: the pipelined ceiling of the ring.
//   - typed: batches of TestPayload records through a typed ring (see
//     typed.go), one way (Mode OneWay: messages and records per second)
//     or as a ping-pong with an echo process (Mode PingPong: round-trip
//     latency, see pingpong.go).
//
// Each runs on a lane (Config.Lane): the byte ring (Layer 0), the frame
// ring (Layer 1), or the reference, a minimal ring between the same
// processes with the ring lane's slots and one atomic store per publish
// and per consumer batch, which a ring lane's throughput is compared with.
//
// Latency is one-way, from the send time stamped in the event (the intended
// send time in fixed-rate mode, which corrects coordinated omission) to the
// moment the consumer reads it, on CLOCK_MONOTONIC, which all processes of
// a host share. Payloads are stamped by the producer and verified by every
// consumer (see bench/peers.Fill), so both sides touch every cache line.
package workload

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/myelon-go/myelon/bench/hist"
	"github.com/myelon-go/myelon/bench/peers"
	"github.com/myelon-go/myelon/ring"
)

// Workload names.
const (
	Broadcast = "broadcast"
	Signal    = "signal"
	// Typed sends TestPayload records through a typed ring (see typed.go).
	Typed = "typed"
)

// Config is one run. Zero fields take the defaults noted.
type Config struct {
	Workload  string        `json:"workload"`           // Broadcast or Signal
	Lane      string        `json:"lane"`               // LaneRing, LaneFramed or LaneReference: LaneRing
	Size      int           `json:"size"`               // event bytes, >= 64: 64
	Count     int           `json:"count"`              // measured events: 1,000,000
	Warmup    int           `json:"warmup"`             // events before measuring
	Consumers int           `json:"consumers"`          // broadcast: 2, signal and typed: 1
	Rate      float64       `json:"rate,omitempty"`     // fixed rate, events/s; 0: max throughput
	Wait      string        `json:"wait"`               // wait strategy of every side: block
	Backend   string        `json:"backend"`            // shm or file: shm
	Capacity  int           `json:"capacity,omitempty"` // ring slots: 4096
	Timeout   time.Duration `json:"timeout,omitempty"`  // whole run: 5 min
	// Batch publishes this many events per claim, with one cursor store:
	// the pipelined ceiling with batching. Zero: 1. With Rate, batches go
	// out at Rate/Batch per second, every event of a batch stamped with the
	// batch's intended send time.
	Batch int `json:"batch,omitempty"`
	// SampleEvery stamps a send time on every n-th event only; latency
	// percentiles are over those samples (every one of them: nothing is
	// estimated). Zero: every event for broadcast, every 64th for signal,
	// whose point is the ring's ceiling rather than the clock's cost.
	SampleEvery int `json:"sample_every,omitempty"`
	// CPUs pins the producer's publishing thread to CPUs[0] and consumer i's
	// reading thread to CPUs[(i+1) % len(CPUs)] (best effort). Empty: no
	// pinning.
	CPUs []int `json:"cpus,omitempty"`
	// Codec, Records and Access are the typed workload's: the codec
	// (CodecBincode, CodecMsgpack, CodecFlatbuffers, CodecRaw; bincode),
	// the records per message (one of RecordsPerMessage; 1), and how
	// consumers read (AccessDecode or AccessView; decode). Size is then
	// the encoded message's size, set by Run.
	Codec   string `json:"codec,omitempty"`
	Records int    `json:"records,omitempty"`
	Access  string `json:"access,omitempty"`
	// Mode is OneWay or, for the typed workload only, PingPong: OneWay.
	Mode string `json:"mode,omitempty"`
}

// pin pins the calling goroutine's thread to the k-th CPU of the list,
// if any. A pin the system refuses fails the run: a result must not claim
// a placement it did not get.
func (c Config) pin(k int) (func(), error) {
	if len(c.CPUs) == 0 {
		return func() {}, nil
	}
	return ring.PinThread(c.CPUs[k%len(c.CPUs)])
}

// ConsumerResult is one consumer's view of a run.
type ConsumerResult struct {
	Latency hist.Summary `json:"latency_stats"` // over the sampled events
	Events  int64        `json:"events"`        // measured events read
	Rate    float64      `json:"throughput"`    // measured events read per second
}

// Result is one run. JSON names follow the seed's result schema.
type Result struct {
	Config     Config           `json:"config"`
	Mode       string           `json:"measurement_mode"`
	Throughput float64          `json:"throughput"`        // events/s published
	Fanout     float64          `json:"fanout_throughput"` // events/s delivered, all consumers
	Bytes      float64          `json:"bytes_per_sec"`     // one-way payload bytes/s
	Worst      hist.Summary     `json:"latency_stats"`     // the consumer with the highest p99
	Consumers  []ConsumerResult `json:"consumers"`
	Verified   bool             `json:"verification_passed"`
	// RoundTrip is the initiator's round-trip latency in Mode PingPong
	// (its Throughput is round trips per second, as Throughput is); nil
	// one way.
	RoundTrip *hist.Summary `json:"round_trip_stats,omitempty"`
}

const childEnv = "MYELON_BENCH_WORKLOAD_CHILD"

type childSpec struct {
	Config Config `json:"config"`
	Ring   string `json:"ring"`
	ID     string `json:"id"`
	Files  int    `json:"files,omitempty"` // inherited from descriptor 3 on
	Ack    string `json:"ack,omitempty"`   // Mode PingPong: the ring the echo creates for its acks
}

func (c Config) withDefaults() (Config, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Workload == "" {
		c.Workload = Broadcast
	}
	if c.Lane == "" {
		c.Lane = LaneRing
	}
	if c.Workload == Typed {
		if c.Codec == "" {
			c.Codec = CodecBincode
		}
		def(&c.Records, 1)
		if c.Access == "" {
			c.Access = AccessDecode
		}
		if _, ok := typedLanes[c.Codec]; !ok {
			return c, fmt.Errorf("workload: unknown codec %q (want bincode, msgpack, flatbuffers or raw)", c.Codec)
		}
		if !slices.Contains(RecordsPerMessage, c.Records) {
			return c, fmt.Errorf("workload: records=%d: want one of %v", c.Records, RecordsPerMessage)
		}
		if c.Access != AccessDecode && (c.Access != AccessView || c.Codec != CodecFlatbuffers && c.Codec != CodecRaw) {
			return c, fmt.Errorf("workload: access %q with %s: want decode, or view with flatbuffers or raw", c.Access, c.Codec)
		}
		n, err := typedLanes[c.Codec].sample(c.Records)
		if err != nil {
			return c, err
		}
		c.Size = max(n, 64)
	}
	def(&c.Size, 64)
	def(&c.Count, 1_000_000)
	// Default depth 4096 slots, fewer for big events: one ring stays
	// within 256 MiB of /dev/shm.
	if c.Capacity == 0 {
		c.Capacity = 4096
		for c.Capacity > 2 && c.Capacity*c.Size > 256<<20 {
			c.Capacity /= 2
		}
	}
	if c.Workload == Signal {
		def(&c.SampleEvery, 64)
	}
	def(&c.SampleEvery, 1)
	def(&c.Batch, 1)
	if c.Workload == Signal || c.Workload == Typed {
		def(&c.Consumers, 1)
	}
	def(&c.Consumers, 2)
	if c.Wait == "" {
		c.Wait = "block"
	}
	if c.Backend == "" {
		c.Backend = "shm"
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Minute
	}
	if c.Mode == "" {
		c.Mode = OneWay
	}
	switch {
	case c.Mode != OneWay && c.Mode != PingPong:
		return c, fmt.Errorf("workload: unknown mode %q (want one-way or ping-pong)", c.Mode)
	case c.Mode == PingPong && (c.Workload != Typed || c.Consumers != 1 || c.Rate != 0 || c.Batch != 1):
		return c, fmt.Errorf("workload: ping-pong runs the typed workload with one echo process, no rate and no batch (have %s, %d consumers, rate %v, batch %d)",
			c.Workload, c.Consumers, c.Rate, c.Batch)
	}
	switch {
	case c.Workload != Broadcast && c.Workload != Signal && c.Workload != Typed:
		return c, fmt.Errorf("workload: unknown workload %q (want broadcast, signal or typed)", c.Workload)
	case c.Lane != LaneRing && c.Lane != LaneFramed && c.Lane != LaneReference:
		return c, fmt.Errorf("workload: unknown lane %q (want ring, framed or reference)", c.Lane)
	case c.Size < 64 || c.Size > 64<<20:
		return c, fmt.Errorf("workload: size=%d: want 64 B..64 MiB", c.Size)
	case c.Count <= 0 || c.Warmup < 0 || c.Consumers < 1 || c.Consumers > 64:
		return c, fmt.Errorf("workload: count=%d warmup=%d consumers=%d out of range", c.Count, c.Warmup, c.Consumers)
	case c.Rate < 0:
		return c, fmt.Errorf("workload: rate=%v must not be negative", c.Rate)
	case c.Capacity < 2 || c.Capacity&(c.Capacity-1) != 0:
		return c, fmt.Errorf("workload: capacity=%d: want a power of two, at least 2", c.Capacity)
	case c.Batch < 1 || c.Batch > c.Capacity:
		return c, fmt.Errorf("workload: batch=%d: want 1..capacity", c.Batch)
	}
	if _, err := ring.ParseWaitStrategy(c.Wait); err != nil {
		return c, err
	}
	return c, nil
}

// Event layout: bytes 0..7 the sequence (peers.Fill), 8..15 the send time
// used for latency (the intended time in fixed-rate mode), the rest
// stamped by peers.Fill.
const offSent = 8

func monoNs() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// MaybeRunChild runs a consumer role and exits if this process is one.
// Call it at the start of main (and TestMain).
func MaybeRunChild() {
	spec, ok := os.LookupEnv(childEnv)
	if !ok {
		return
	}
	if err := runConsumer(spec); err != nil {
		fmt.Fprintln(os.Stderr, "workload consumer:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// ringOptions parses the backend (and the directory of its segments, for
// files) and the wait strategy of cfg.
func (c Config) ringOptions() (ring.Backend, string, ring.WaitStrategy, error) {
	backend, dir, err := backendOf(c.Backend)
	if err != nil {
		return 0, "", ring.WaitStrategy{}, err
	}
	ws, err := ring.ParseWaitStrategy(c.Wait)
	return backend, dir, ws, err
}

// ringName is a fresh ring name from prefix, in dir for the file backend.
func ringName(prefix, dir string) string {
	name := ring.PortableName(prefix)
	if dir != "" {
		name = dir + "/" + name
	}
	return name
}

func backendOf(name string) (ring.Backend, string, error) {
	switch name {
	case "shm":
		return ring.Shm, "", nil
	case "file":
		return ring.File, os.TempDir(), nil
	}
	return 0, "", fmt.Errorf("workload: backend %q: want shm or file", name)
}

// Run runs one workload: it creates the ring, starts the consumer
// processes, publishes, and gathers their results.
func Run(ctx context.Context, cfg Config) (Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	// A consumer that dies ends the run at once, with its exit status as
	// the cause, instead of leaving the producer to wait out the timeout.
	ctx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	p, err := newPublisher(cfg)
	if err != nil {
		return Result{}, err
	}
	closed := false
	defer func() {
		if !closed {
			p.close()
		}
	}()
	addr, files := p.link()
	var ack string
	if cfg.Mode == PingPong {
		_, dir, _ := backendOf(cfg.Backend) // newPublisher has checked it
		ack = ringName("ack", dir)
	}

	self, err := os.Executable()
	if err != nil {
		return Result{}, err
	}
	type child struct {
		cmd  *exec.Cmd
		out  strings.Builder
		done chan error // the exit status, once
	}
	var finished atomic.Bool // every event published: normal exits follow
	children := make([]*child, 0, cfg.Consumers)
	defer func() { // kill and reap whatever is still running, on every path
		for _, ch := range children {
			ch.cmd.Process.Kill()
			<-ch.done
		}
	}()
	for i := 0; i < cfg.Consumers; i++ {
		spec, _ := json.Marshal(childSpec{Config: cfg, Ring: addr, ID: fmt.Sprintf("c%d", i), Files: len(files), Ack: ack})
		ch := &child{cmd: exec.Command(self), done: make(chan error, 1)}
		ch.cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
		ch.cmd.ExtraFiles = files
		ch.cmd.Stdout, ch.cmd.Stderr = &ch.out, os.Stderr
		if err := ch.cmd.Start(); err != nil {
			return Result{}, err
		}
		children = append(children, ch)
		go func() {
			err := ch.cmd.Wait()
			if err != nil || !finished.Load() {
				abort(fmt.Errorf("workload: consumer %d exited early: %v", i, err))
			}
			ch.done <- err
			close(ch.done)
		}()
	}
	if err := p.waitConsumers(ctx, cfg.Consumers); err != nil {
		return Result{}, orCause(ctx, err)
	}
	// Pin after the children started: they inherit the forking thread's
	// affinity.
	unpin, err := cfg.pin(0)
	if err != nil {
		return Result{}, fmt.Errorf("workload: producer: %w", err)
	}
	defer unpin()

	var elapsed time.Duration
	var roundTrip *hist.Summary
	if cfg.Mode == PingPong {
		var rt hist.Summary
		rt, err = pingPong(ctx, cfg, p, ack)
		elapsed, roundTrip = time.Duration(rt.DurationSecs*float64(time.Second)), &rt
	} else {
		elapsed, err = oneWay(ctx, cfg, p)
	}
	if err != nil {
		return Result{}, err
	}
	finished.Store(true)
	closed = true
	if err := p.close(); err != nil { // the ring's consumers see the end of the stream
		return Result{}, err
	}

	res := Result{Config: cfg, Mode: peers.ModeMaxThroughput, Verified: true, RoundTrip: roundTrip}
	if cfg.Rate > 0 {
		res.Mode = peers.ModeFixedRate
	}
	res.Throughput = float64(cfg.Count) / elapsed.Seconds()
	for i, ch := range children {
		var err error
		select {
		case err = <-ch.done:
		case <-ctx.Done():
			return Result{}, fmt.Errorf("consumer %d: %w", i, context.Cause(ctx))
		}
		if err != nil {
			return Result{}, fmt.Errorf("consumer %d: %w", i, err)
		}
		var cr ConsumerResult
		if err := json.Unmarshal([]byte(ch.out.String()), &cr); err != nil {
			return Result{}, fmt.Errorf("consumer %d output %q: %w", i, ch.out.String(), err)
		}
		if cr.Events != int64(cfg.Count) || cr.Latency.Count == 0 && cfg.Workload != Typed {
			return Result{}, fmt.Errorf("consumer %d measured %d of %d events", i, cr.Events, cfg.Count)
		}
		res.Consumers = append(res.Consumers, cr)
		if cr.Latency.P99 >= res.Worst.P99 {
			res.Worst = cr.Latency
		}
		res.Fanout += cr.Rate
	}
	res.Bytes = res.Throughput * float64(cfg.Size)
	return res, nil
}

// oneWay publishes the warmup and measured events of cfg (at cfg.Rate,
// if set) and returns the time the measured ones took.
func oneWay(ctx context.Context, cfg Config, p publisher) (time.Duration, error) {
	total := cfg.Warmup + cfg.Count
	var sched hist.Schedule
	if cfg.Rate > 0 {
		var err error
		if sched, err = hist.NewSchedule(cfg.Rate/float64(cfg.Batch), time.Now()); err != nil { // batches per second
			return 0, err
		}
	}
	base := monoNs() - time.Now().UnixNano() // monotonic = wall + base, for the schedule
	var start time.Time
	// fill stamps event seq (events are numbered from 0 on every lane). It
	// is made once: a closure made per publish would allocate per publish.
	var sent int64 // the intended send time in fixed-rate mode
	fill := func(seq int64, slot []byte) {
		if cfg.Workload == Signal {
			binary.LittleEndian.PutUint64(slot, uint64(seq)) // no payload variation
		} else {
			peers.Fill(slot, uint64(seq))
		}
		stamp := sent
		if i := int(seq); stamp == 0 && i >= cfg.Warmup && (i-cfg.Warmup)%cfg.SampleEvery == 0 {
			stamp = monoNs()
		}
		binary.LittleEndian.PutUint64(slot[offSent:], uint64(stamp)) // 0: not sampled
	}
	for i := 0; i < total; {
		if i >= cfg.Warmup && start.IsZero() {
			start = time.Now()
		}
		if cfg.Rate > 0 {
			due := sched.Intended(int64(i / cfg.Batch))
			hist.SleepUntil(due)
			sent = due.UnixNano() + base
		}
		k := min(cfg.Batch, total-i)
		if err := p.publish(ctx, k, fill); err != nil {
			return 0, fmt.Errorf("publish %d: %w", i, orCause(ctx, err))
		}
		i += k
	}
	return time.Since(start), nil
}

// orCause prefers the reason ctx was cancelled (a consumer's exit) to err.
func orCause(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil {
		return cause
	}
	return err
}

func runConsumer(specJSON string) error {
	var spec childSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		return err
	}
	cfg := spec.Config
	var acks *acker
	if cfg.Mode == PingPong {
		// Created before joining the ping ring: the initiator attaches
		// to it once this process has joined.
		var err error
		if acks, err = createAcks(cfg, spec.Ack); err != nil {
			return err
		}
		defer acks.close()
	}
	// The producer created the ring before starting this process: bound
	// the wait for it as the old default ready timeout did.
	actx, cancel := context.WithTimeout(context.Background(), attachTimeout)
	c, err := newSubscriber(actx, cfg, spec.Ring, spec.ID, spec.Files)
	cancel()
	if err != nil {
		return err
	}
	defer c.close()
	rec := hist.New()
	ctx := context.Background()
	var idx int
	fmt.Sscanf(spec.ID, "c%d", &idx)
	unpin, err := cfg.pin(idx + 1)
	if err != nil {
		return err
	}
	defer unpin()
	var first, last time.Time
	var events int64
	want, total := int64(0), int64(cfg.Warmup+cfg.Count)
	read := func(seq int64, slot []byte) error {
		if seq != want {
			return fmt.Errorf("event %d arrived when %d was expected", seq, want)
		}
		want++
		if acks != nil {
			// The ack goes out while the message is still held (a view
			// still reads the slot): the release is off the round trip.
			if err := acks.send(ctx, seq); err != nil {
				return err
			}
		}
		switch cfg.Workload {
		case Typed: // the subscriber has checked the records; nothing is stamped
		case Signal:
			if got := binary.LittleEndian.Uint64(slot); got != uint64(seq) {
				return fmt.Errorf("event %d carries sequence %d", seq, got)
			}
		default:
			// Fill never stamps bytes 8..15 of a slot of 64 bytes or more,
			// so the send time there does not disturb Verify.
			if err := peers.Verify(slot, uint64(seq)); err != nil {
				return err
			}
		}
		if seq < int64(cfg.Warmup) {
			return nil
		}
		// One clock reading at each end of the measured events, none per
		// batch: with batches of one event that would be one per event.
		if seq == int64(cfg.Warmup) {
			first = time.Now()
		}
		if seq == total-1 {
			last = time.Now()
		}
		events++
		if cfg.Workload != Typed {
			if sent := int64(binary.LittleEndian.Uint64(slot[offSent:])); sent != 0 {
				rec.Record(monoNs() - sent)
			}
		}
		return nil
	}
	for {
		err := c.next(ctx, read)
		if err == errEnd {
			break
		}
		if err != nil {
			return err
		}
	}
	sum, err := rec.Summary(last.Sub(first))
	if err != nil {
		return err
	}
	cr := ConsumerResult{Latency: sum, Events: events}
	if d := last.Sub(first).Seconds(); d > 0 {
		cr.Rate = float64(events) / d
	}
	return json.NewEncoder(os.Stdout).Encode(cr)
}
