// Command consumer attaches to the ring of ./examples/quickstart/producer and
// prints every tick until the producer closes the ring. Start it before or
// after the producer, in another terminal:
//
//	go run ./examples/quickstart/consumer
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

// Tick is the producer's event type, declared again here: same fields,
// same order.
type Tick struct {
	Seq   int64
	Price float64
	Qty   int32
}

func main() {
	name := flag.String("ring", "quickstart", "ring name (the producer must use the same)")
	flag.Parse()

	// Ctrl-C (or SIGTERM) cancels ctx: Attach and Recv return, and the
	// deferred Close in run leaves the ring cleanly.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := run(ctx, *name); err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Println("consumer: interrupted")
			return
		}
		log.Fatalf("consumer: %v", err)
	}
}

func run(ctx context.Context, name string) error {
	// Attach waits for the producer to create the ring (until ctx ends), so
	// the two programs can start in either order.
	fmt.Printf("consumer: waiting for ring %q\n", name)
	c, err := ring.Attach[Tick](ctx, name, ring.ConsumerConfig{})
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Println("consumer: attached")

	for {
		// Recv waits for the next tick and returns a copy of it.
		t, err := c.Recv(ctx)
		if errors.Is(err, ring.ErrEndOfStream) {
			// The producer closed the ring and we have read everything.
			fmt.Println("consumer: end of stream")
			return nil
		}
		if err != nil {
			return err
		}
		fmt.Printf("consumer: tick %d price %.2f qty %d\n", t.Seq, t.Price, t.Qty)
	}
}
