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
	fmt.Println(ref.Peer, ref.Latency.Count, ref.Verified)
	fmt.Println(uds.Peer, uds.Latency.Count, uds.Verified)
	fmt.Println(uds.Latency.P50 > ref.Latency.P50) // the reference is the floor
	// Output:
	// raw-atomic 1000 true
	// uds 1000 true
	// true
}
