package layers

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/myelon-go/myelon/bench/peers"
	"github.com/myelon-go/myelon/bench/repeat"
)

// sweepSizes are the sizes of `myelon bench sweep`.
var sweepSizes = []int{64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 2 << 20}

// TestRing_SameGeometryAsReference checks what makes the reference a lower
// bound of the ring lane by construction: the lane's rings have as many
// slots of the same size as the reference rotates over, at every size of
// the sweep.
func TestRing_SameGeometryAsReference(t *testing.T) {
	for _, size := range sweepSizes {
		o, _, err := Ring{}.Prepare(t.TempDir(), peers.Config{Size: size})
		if err != nil {
			t.Fatal(err)
		}
		info := o.(*ringOpener).ping.Info()
		o.Close()
		if slot := peers.SlotSize(size); info.SlotSize != slot || info.Capacity != peers.Depth(slot) {
			t.Errorf("%d B: ring of %d slots of %d B, the reference has %d of %d B", size, info.Capacity, info.SlotSize, peers.Depth(slot), slot)
		}
	}
}

// timedEnv turns on the tests whose assertions compare measured times.
// They are off by default: on a shared machine no timing is guaranteed.
const timedEnv = "MYELON_BENCH_TIMED"

// TestReference_NeverLosesToRing runs a short sweep, 64 B to 2 MiB, of the
// reference and the ring lane, four runs each interleaved ABBA, and checks the
// median ratio is at least 0.95 at every size (what `myelon bench` flags as
// an anomaly). Timed: run with MYELON_BENCH_TIMED=1 on a quiet host.
func TestReference_NeverLosesToRing(t *testing.T) {
	if os.Getenv(timedEnv) == "" {
		t.Skipf("compares measured times; set %s=1 to run it on a quiet host", timedEnv)
	}
	if err := Configure("spin", "shm"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, size := range sweepSizes {
		cfg := peers.Config{Size: size, Count: 300, Warmup: 2 * peers.Depth(peers.SlotSize(size)), Timeout: time.Minute}
		var ratios []float64
		for rep := range 4 {
			// ABBA: reference first, then lane first, and so on.
			pair := []string{peers.RawAtomic, RingName}
			if rep%2 == 1 {
				pair[0], pair[1] = pair[1], pair[0]
			}
			p50 := map[string]float64{}
			for _, name := range pair {
				r, err := peers.Run(ctx, name, cfg)
				if err != nil {
					t.Fatal(err)
				}
				p50[name] = float64(r.Latency.P50)
			}
			ratios = append(ratios, p50[RingName]/p50[peers.RawAtomic])
		}
		st, err := repeat.Of(ratios)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%8d B: ring/reference p50 %.2fx (%.2f-%.2f)", size, st.Median, st.Min, st.Max)
		if st.Median < 0.95 {
			t.Errorf("%d B: the ring beat the reference: median ratio %.2f over %v", size, st.Median, ratios)
		}
	}
}
