package workload

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/myelon-go/myelon/frame"
)

func TestMain(m *testing.M) {
	MaybeRunChild()
	os.Exit(m.Run())
}

// TestRun_Smoke runs each workload across processes and checks that every
// consumer measured every event and the numbers are consistent.
func TestRun_Smoke(t *testing.T) {
	for _, cfg := range []Config{
		{Workload: Broadcast, Consumers: 2, Count: 20000, Warmup: 1000, Wait: "block"},
		{Workload: Broadcast, Consumers: 2, Count: 2000, Size: 4096, Wait: "yield", Backend: "file"},
		{Workload: Signal, Count: 50000, Wait: "block"},
		{Workload: Signal, Count: 50000, Batch: 64, Wait: "block"},
		{Workload: Signal, Count: 2000, Rate: 100000, Wait: "block"},
		{Workload: Broadcast, Consumers: 2, Count: 4096, Rate: 200000, Batch: 16, Wait: "block"},
		{Workload: Signal, Lane: LaneReference, Count: 50000, Wait: "yield"},
		{Workload: Signal, Lane: LaneReference, Count: 50000, Batch: 64, Wait: "yield", Capacity: 128},
		{Workload: Broadcast, Lane: LaneReference, Consumers: 2, Count: 20000, Warmup: 1000, Wait: "yield"},
		{Workload: Broadcast, Lane: LaneFramed, Consumers: 2, Count: 20000, Warmup: 1000, Wait: "block"},
		{Workload: Signal, Lane: LaneFramed, Count: 20000, Wait: "block", Backend: "file"},
		{Workload: Signal, Consumers: 2, Count: 20000, Wait: "block"},
		{Workload: Signal, Lane: LaneReference, Consumers: 3, Count: 20000, Size: 256, Wait: "yield"},
		{Workload: Typed, Codec: CodecBincode, Records: 8, Count: 2000, Wait: "block"},
		{Workload: Typed, Codec: CodecMsgpack, Records: 1, Count: 2000, Wait: "block"},
		{Workload: Typed, Codec: CodecFlatbuffers, Records: 64, Count: 300, Wait: "block"},
		{Workload: Typed, Codec: CodecFlatbuffers, Access: AccessView, Records: 8, Count: 2000, Consumers: 2, Wait: "block"},
		{Workload: Typed, Codec: CodecRaw, Records: 256, Count: 300, Wait: "block"},
		{Workload: Typed, Codec: CodecRaw, Access: AccessView, Records: 1, Count: 2000, Wait: "block", Backend: "file"},
	} {
		res := runOK(t, cfg)
		want := cfg.Consumers
		if want == 0 {
			want = 1 // signal's default
		}
		sampled := int64(cfg.Count)
		switch {
		case cfg.Workload == Typed:
			sampled = 0 // typed messages carry no send stamp
		case cfg.Workload == Signal && cfg.Rate == 0:
			sampled = int64(cfg.Count+63) / 64 // every 64th event carries a send time
		}
		if len(res.Consumers) != want || !res.Verified || res.Throughput <= 0 || res.Consumers[0].Events != int64(cfg.Count) ||
			res.Worst.Count < sampled-1 || res.Worst.Count > sampled+1 || res.Worst.P50 > res.Worst.Max {
			t.Fatalf("%+v: implausible result %+v", cfg, res)
		}
		if (cfg.Rate > 0) != (res.Mode == "fixed_rate") {
			t.Fatalf("mode %q for rate %v", res.Mode, cfg.Rate)
		}
	}
}

// TestRun_PingPong runs the typed ping-pong across processes, decode and
// view, and checks that every message made its round trip and was read.
func TestRun_PingPong(t *testing.T) {
	for _, cfg := range []Config{
		{Workload: Typed, Mode: PingPong, Codec: CodecBincode, Records: 8, Count: 300, Warmup: 30, Wait: "block"},
		{Workload: Typed, Mode: PingPong, Codec: CodecMsgpack, Records: 1, Count: 200, Wait: "yield"},
		{Workload: Typed, Mode: PingPong, Codec: CodecFlatbuffers, Access: AccessView, Records: 64, Count: 200, Wait: "block", Backend: "file"},
		{Workload: Typed, Mode: PingPong, Codec: CodecRaw, Access: AccessView, Records: 256, Count: 200, Wait: "block"},
	} {
		res := runOK(t, cfg)
		rt := res.RoundTrip
		if rt == nil || rt.Count != int64(cfg.Count) || rt.P50 <= 0 || rt.P50 > rt.Max || rt.Throughput <= 0 ||
			!res.Verified || res.Throughput <= 0 || len(res.Consumers) != 1 || res.Consumers[0].Events != int64(cfg.Count) {
			t.Fatalf("%+v: implausible result %+v (round trip %+v)", cfg, res, rt)
		}
	}
}

func TestConfig_Rejects(t *testing.T) {
	for _, c := range []Config{{Workload: "x"}, {Size: 8}, {Count: -1}, {Consumers: 100}, {Rate: -1}, {Wait: "nope"}, {Batch: 1 << 20}, {Lane: "carrier-pigeon"}, {Capacity: 100},
		{Workload: Typed, Codec: "json"}, {Workload: Typed, Records: 3}, {Workload: Typed, Access: AccessView}, {Workload: Typed, Access: "peek"},
		{Mode: "both"}, {Workload: Signal, Mode: PingPong}, {Workload: Typed, Mode: PingPong, Consumers: 2}, {Workload: Typed, Mode: PingPong, Rate: 1000}} {
		if _, err := c.withDefaults(); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}

// TestAccessVsDecode checks every codec's decode and view paths read the
// records right at every batch size (the times are only reported).
func TestAccessVsDecode(t *testing.T) {
	for _, codec := range []string{CodecBincode, CodecMsgpack, CodecFlatbuffers, CodecRaw} {
		for _, n := range RecordsPerMessage {
			r, err := AccessVsDecode(codec, n, time.Millisecond)
			if err != nil {
				t.Fatalf("%s, %d records: %v", codec, n, err)
			}
			if r.Bytes < n*recordTokens*4 || r.DecodeNs <= 0 || HasView(codec) != (r.ViewNs > 0 && r.Speedup > 0) {
				t.Errorf("%s, %d records: %+v", codec, n, r)
			}
			t.Logf("%-11s %3d records, %6d B: decode %8.0f ns, view %8.0f ns, speedup %.1fx", codec, n, r.Bytes, r.DecodeNs, r.ViewNs, r.Speedup)
		}
	}
	if _, err := AccessVsDecode("json", 1, time.Millisecond); err == nil {
		t.Error("codec json accepted")
	}
}

// TestPingPong_NoAllocs runs both ends of a typed ping-pong round trip (raw
// view, and the ack) in this process and checks that a round trip
// allocates nothing once the message is built.
func TestPingPong_NoAllocs(t *testing.T) {
	ctx := context.Background()
	cfg, p := publisherOf(t, Config{Workload: Typed, Mode: PingPong, Codec: CodecRaw, Access: AccessView, Records: 8, Count: 1000, Wait: "spin"})
	addr, _ := p.link()
	ackName := ringName("ack", "")
	acks, err := createAcks(cfg, ackName)
	if err != nil {
		t.Fatal(err)
	}
	defer acks.close()
	s, err := newSubscriber(ctx, cfg, addr, "c0", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	backend, _, ws, err := cfg.ringOptions()
	if err != nil {
		t.Fatal(err)
	}
	c, err := frame.Attach(ctx, ackName, frame.ConsumerConfig{Backend: backend, ID: "initiator", Wait: ws, PayloadCapacity: ackPayload})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	staged := p.(stagedSender)
	reply := make([]byte, ackBytes)
	read := func(seq int64, _ []byte) error { return acks.send(ctx, seq) }
	allocs := testing.AllocsPerRun(200, func() {
		staged.stage()
		if err := staged.sendStaged(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.next(ctx, read); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Recv(ctx, reply); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per round trip", allocs)
	}
}

// runOK runs cfg across processes, failing the test on an error.
func runOK(t *testing.T, cfg Config) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("%+v: %v", cfg, err)
	}
	return res
}

// publisherOf completes cfg with its defaults and creates its publisher,
// closed when the test ends.
func publisherOf(tb testing.TB, cfg Config) (Config, publisher) {
	tb.Helper()
	cfg, err := cfg.withDefaults()
	if err != nil {
		tb.Fatal(err)
	}
	p, err := newPublisher(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.close() })
	return cfg, p
}
