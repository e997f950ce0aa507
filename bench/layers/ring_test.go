package layers

import (
	"context"
	"errors"
	"os"
	"strings"
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
	for _, o := range []struct{ wait, backend string }{{"spin", "shm"}, {"block", "file"}} {
		if err := Configure(o.wait, o.backend); err != nil {
			t.Fatal(err)
		}
		runSmoke(t)
	}
	if err := Configure("nope", "shm"); err == nil {
		t.Fatal("Configure accepted wait strategy nope")
	}
	// With the required-consumer policy on both rings.
	if err := Configure("spin", "shm"); err != nil {
		t.Fatal(err)
	}
	SetRequired(true)
	defer SetRequired(false)
	runSmoke(t)
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

// TestPeers_TimeoutMidRunLeavesNothing stops runs of every layer peer by
// their timeout while round trips are in flight: the run must end with
// peers.ErrTimeout, without a crash (Close used to unmap rings a round
// trip was reading), and leave no segment behind.
func TestPeers_TimeoutMidRunLeavesNothing(t *testing.T) {
	before := shmNames(t)
	for _, name := range []string{RingName, FramedName, TypedName, ZeroCopyName} {
		for _, wait := range []string{"spin", "block"} {
			if err := Configure(wait, "shm"); err != nil {
				t.Fatal(err)
			}
			_, err := peers.Run(context.Background(), name, peers.Config{Size: 64, Count: 1 << 40, Timeout: 300 * time.Millisecond})
			if !errors.Is(err, peers.ErrTimeout) {
				t.Errorf("%s/%s: %v, want peers.ErrTimeout", name, wait, err)
			}
		}
	}
	Configure("spin", "shm")
	waitNoNewSegments(t, before)
}

func shmNames(t *testing.T) map[string]bool {
	t.Helper()
	ents, err := os.ReadDir("/dev/shm")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]bool{}
	for _, e := range ents {
		m[e.Name()] = true
	}
	return m
}

// waitNoNewSegments fails if segments created since before are still
// there after the echo processes have had a moment to exit.
func waitNoNewSegments(t *testing.T, before map[string]bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var left []string
		for n := range shmNames(t) {
			if !before[n] && (strings.HasPrefix(n, "bp") || strings.HasPrefix(n, "fp")) {
				left = append(left, n)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("segments left in /dev/shm: %v", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
