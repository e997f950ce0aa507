package layers

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/myelon-go/myelon/bench/peers"
)

func TestMain(m *testing.M) {
	peers.MaybeRunChild()
	os.Exit(m.Run())
}

// TestRing_PingPongSmoke runs the Layer 0 peer across two processes and
// checks the run verified every echo.
func TestRing_PingPongSmoke(t *testing.T) {
	for _, o := range []struct{ wait, backend string }{{"spin", "shm"}, {"block", "mmap"}} {
		if err := Configure(o.wait, o.backend); err != nil {
			t.Fatal(err)
		}
		runSmoke(t)
	}
	if err := Configure("nope", "shm"); err == nil {
		t.Fatal("Configure accepted wait strategy nope")
	}
}

func runSmoke(t *testing.T) {
	for _, size := range []int{64, 4096} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		res, err := peers.Run(ctx, RingName, peers.Config{Size: size, Count: 500, Warmup: 50})
		cancel()
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		l := res.Latency
		if !res.Verified || l.Count != 500 || l.Min <= 0 || l.P50 > l.P99 || l.P99 > l.Max {
			t.Fatalf("size %d: implausible result %+v", size, res)
		}
	}
}
