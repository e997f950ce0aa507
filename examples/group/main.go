// Command group shares work between processes: the producer publishes jobs
// and every worker attached to the consumer group "workers" takes some of
// them. Each job goes to exactly one worker (a plain consumer would see
// every job instead).
//
// In three or more terminals, in any order:
//
//	go run ./examples/group -role=worker -id=worker-1
//	go run ./examples/group -role=worker -id=worker-2
//	go run ./examples/group -role=producer -workers=2
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/myelon-go/myelon/ring"
)

// Job is the event: fixed size, no pointers.
type Job struct {
	ID    int64
	Input int64
}

func main() {
	role := flag.String("role", "worker", "producer or worker")
	name := flag.String("ring", "group", "ring name (every process must use the same)")
	id := flag.String("id", fmt.Sprintf("worker-%d", os.Getpid()), "worker: its name")
	n := flag.Int("n", 20, "producer: number of jobs")
	workers := flag.Int("workers", 2, "producer: workers to wait for before publishing")
	work := flag.Duration("work", 10*time.Millisecond, "worker: time spent on each job")
	flag.Parse()

	// Ctrl-C (or SIGTERM) cancels ctx: blocking calls return, deferred
	// Close calls run.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var err error
	switch *role {
	case "producer":
		err = produce(ctx, *name, *n, *workers)
	case "worker":
		err = runWorker(ctx, *name, *id, *work)
	default:
		log.Fatalf("unknown -role %q: want producer or worker", *role)
	}
	if errors.Is(err, context.Canceled) {
		fmt.Println(*role + ": interrupted")
	} else if err != nil {
		log.Fatalf("%s: %v", *role, err)
	}
}

func produce(ctx context.Context, name string, n, workers int) error {
	p, err := ring.Create[Job](name, ring.Config{Capacity: 64})
	if err != nil {
		return err
	}
	defer p.Close() // workers finish what is left, then see end of stream

	// Wait for the workers, so that the first one to attach does not take
	// every job before the others are up.
	fmt.Printf("producer: created ring %q, waiting for %d workers\n", name, workers)
	if err := p.WaitForConsumers(ctx, workers, ""); err != nil {
		return err
	}
	for i := range n {
		j := Job{ID: int64(i), Input: int64(i * i)}
		if _, err := p.Send(ctx, &j); err != nil {
			return err
		}
		fmt.Printf("producer: sent job %d\n", j.ID)
	}
	fmt.Println("producer: done, closing the ring")
	return nil
}

func runWorker(ctx context.Context, name, id string, work time.Duration) error {
	fmt.Printf("%s: waiting for ring %q\n", id, name)
	c, err := ring.Attach[Job](ctx, name, ring.ConsumerConfig{
		ID:    id,
		Group: "workers", // members of one group share the jobs
		// Block (the default) sleeps in the kernel while there is nothing
		// to do, so idle workers use no CPU. (BusySpin reacts faster but
		// keeps a whole core busy per worker.)
		Wait: ring.Block,
	})
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Printf("%s: attached\n", id)

	done := 0
	for {
		j, err := c.Recv(ctx) // the next job nobody else took
		if errors.Is(err, ring.ErrEndOfStream) {
			fmt.Printf("%s: end of stream after %d jobs\n", id, done)
			return nil
		}
		if err != nil {
			return err
		}
		time.Sleep(work) // the work
		done++
		fmt.Printf("%s: did job %d (%d squared is %d)\n", id, j.ID, j.ID, j.Input)
	}
}
