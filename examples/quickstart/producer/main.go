// Command producer creates a ring of Ticks, waits for a consumer to attach,
// publishes a few ticks and closes the ring. Start it before or after
// ./examples/quickstart/consumer, in another terminal:
//
//	go run ./examples/quickstart/producer
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

	"github.com/myelon-go/myelon/ring"
)

// Tick is one event. Events on a ring are fixed-size values without
// pointers (no strings, slices or maps). The consumer declares the same
// struct: the ring checks at attach that both sides agree on its layout.
type Tick struct {
	Seq   int64
	Price float64
	Qty   int32
}

func main() {
	name := flag.String("ring", "quickstart", "ring name (the consumer must use the same)")
	n := flag.Int("n", 10, "number of ticks to publish")
	flag.Parse()

	// Ctrl-C (or SIGTERM) cancels ctx: every blocking call below returns,
	// and the deferred Close in run removes the ring.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := run(ctx, *name, *n); err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Println("producer: interrupted")
			return
		}
		log.Fatalf("producer: %v", err)
	}
}

func run(ctx context.Context, name string, n int) error {
	// Create the ring: a shared-memory segment (/dev/shm/<name> on Linux)
	// with room for 1024 ticks.
	p, err := ring.Create[Tick](name, ring.Config{Capacity: 1024})
	if err != nil {
		return err
	}
	// Close ends the stream: consumers read what is left, then get
	// ring.ErrEndOfStream. It also removes the segment.
	defer p.Close()

	// A consumer sees only the events published after it attached, so wait
	// for one before publishing.
	fmt.Printf("producer: created ring %q, waiting for a consumer\n", name)
	if err := p.WaitForConsumers(ctx, 1, ""); err != nil {
		return err
	}

	for i := range n {
		t := Tick{Seq: int64(i), Price: 100 + float64(i)/4, Qty: int32(10 * (i + 1))}
		// Send copies t into the next free slot; it waits if the ring is
		// full (the consumer is behind).
		if _, err := p.Send(ctx, &t); err != nil {
			return err
		}
		fmt.Printf("producer: sent tick %d\n", t.Seq)
	}
	fmt.Println("producer: done, closing the ring")
	return nil
}
