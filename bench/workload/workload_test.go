package workload

import (
	"context"
	"os"
	"testing"
	"time"
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
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		res, err := Run(ctx, cfg)
		cancel()
		if err != nil {
			t.Fatalf("%+v: %v", cfg, err)
		}
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

func TestConfig_Rejects(t *testing.T) {
	for _, c := range []Config{{Workload: "x"}, {Size: 8}, {Count: -1}, {Consumers: 100}, {Rate: -1}, {Wait: "nope"}, {Batch: 1 << 20}, {Lane: "carrier-pigeon"}, {Capacity: 100},
		{Workload: Typed, Codec: "json"}, {Workload: Typed, Records: 3}, {Workload: Typed, Access: AccessView}, {Workload: Typed, Access: "peek"}} {
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
