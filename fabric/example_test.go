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

// A pool of two interchangeable workers (goroutines here, on the Heap
// backend): each request goes to one of them.
func ExampleNewPool() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := fabric.NewPool(fabric.Config{Session: "example-pool", Workers: 2, Backend: ring.Heap, DispatchDepth: 64, ReturnDepth: 16, PayloadCapacity: 256})
	if err != nil {
		panic(err)
	}
	served := make(chan error, 2)
	for _, id := range []string{"a", "b"} {
		rc, _ := p.Layout().PoolRunner(id)
		go func() {
			w, err := fabric.NewWorker(ctx, rc)
			if err != nil {
				served <- err
				return
			}
			defer w.Close()
			served <- w.Serve(ctx, func(ctx context.Context, req, reply []byte) ([]byte, error) {
				return append(append(reply, "served "...), req...), nil
			})
		}()
	}
	if err := p.WaitWorkers(ctx, 2); err != nil {
		panic(err)
	}
	for _, req := range []string{"2", "3"} {
		reply, err := p.Do(ctx, []byte(req))
		fmt.Printf("%s %v\n", reply, err)
	}
	p.Close()
	for range 2 {
		if err := <-served; err != nil {
			fmt.Println("worker:", err)
		}
	}
	// Output:
	// served 2 <nil>
	// served 3 <nil>
}
