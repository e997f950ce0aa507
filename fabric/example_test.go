package fabric_test

import (
	"context"
	"fmt"
	"time"

	"github.com/myelon-go/myelon/fabric"
	"github.com/myelon-go/myelon/ring"
)

// A scheduler and three workers. The workers are goroutines here, on the
// Heap backend; in production each is a process started with its
// RunnerConfig (see Layout.Runner) on the Shm backend.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := fabric.Config{Session: "example-session", Workers: 3, Backend: ring.Heap, DispatchDepth: 64, ReturnDepth: 16, PayloadCapacity: 256}
	s, err := fabric.NewScheduler(cfg)
	if err != nil {
		panic(err)
	}
	served := make(chan error, 3)
	for rank := range cfg.Workers.Ranks() {
		rc, _ := s.Layout().Runner(rank)
		go func() {
			w, err := fabric.NewWorker(ctx, rc)
			if err != nil {
				served <- err
				return
			}
			defer w.Close()
			served <- w.Serve(ctx, func(ctx context.Context, req, reply []byte) ([]byte, error) {
				return fmt.Appendf(reply, "rank %d: %s", w.Rank(), req), nil
			})
		}()
	}
	if err := s.Rendezvous(ctx); err != nil {
		panic(err)
	}
	fmt.Println("dispatch ring:", s.Layout().Dispatch())
	round, _ := s.Broadcast(ctx, []byte("step 1"))
	replies, err := round.Gather(ctx)
	for _, r := range replies {
		fmt.Printf("%s\n", r.Payload)
	}
	fmt.Println("error:", err)
	s.Close()
	for range 3 {
		if err := <-served; err != nil {
			fmt.Println("worker:", err)
		}
	}
	// Output:
	// dispatch ring: vmyesessionp
	// rank 0: step 1
	// rank 1: step 1
	// rank 2: step 1
	// error: <nil>
}
