package peers_test

import (
	"context"
	"fmt"

	"github.com/myelon-go/myelon/bench/peers"
)

// Run measures one peer; the echo process is this executable started
// again, so main (here TestMain) must call peers.MaybeRunChild first.
func Example() {
	cfg := peers.Config{Size: 64, Count: 1000, Warmup: 100}
	ref, err := peers.RunRawAtomic(context.Background(), cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	uds, err := peers.Run(context.Background(), peers.UnixSocket, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	// Timings vary by machine; a report would print
	// float64(uds.Latency.P50) / float64(ref.Latency.P50), the distance
	// from the floor.
	fmt.Println(ref.Peer, ref.Latency.Count, ref.Verified, ref.Mode)
	fmt.Println(uds.Peer, uds.Latency.Count, uds.Verified, uds.Mode)
	// Output:
	// raw-atomic 1000 true max_throughput
	// uds 1000 true max_throughput
}
