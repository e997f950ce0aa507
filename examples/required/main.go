// Command required shows a required consumer: the producer never runs
// ahead of the consumer named "audit", even while that consumer is down.
// Kill the consumer (Ctrl-C, or kill -9) in the middle of the stream and
// start it again: it resumes where it stopped and nothing is lost.
//
// In two terminals, in either order:
//
//	go run ./examples/required -role=consumer
//	go run ./examples/required -role=producer
//
// then stop the consumer and start it again within -grace (30 s).
//
// What a consumer that was killed sees again: the record it was handling
// when it died (printed, perhaps, but not finished) is delivered again
// after the restart. Everything else is delivered exactly once.
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

// Record is the event: fixed size, no pointers.
type Record struct {
	Seq    int64
	Amount int64
}

func main() {
	role := flag.String("role", "consumer", "producer or consumer")
	name := flag.String("ring", "required", "ring name (both sides must use the same)")
	id := flag.String("id", "audit", "the required consumer's id")
	n := flag.Int("n", 100, "producer: number of records to send")
	grace := flag.Duration("grace", 30*time.Second, "producer: how long the consumer may be stuck or down before the producer gives up")
	delay := flag.Duration("delay", 100*time.Millisecond, "consumer: time spent on each record (so there is time to kill it)")
	flag.Parse()

	// Ctrl-C (or SIGTERM) cancels ctx: blocking calls return, deferred
	// Close calls run.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var err error
	switch *role {
	case "producer":
		err = produce(ctx, *name, *id, *n, *grace)
	case "consumer":
		err = consume(ctx, *name, *id, *delay)
	default:
		log.Fatalf("unknown -role %q: want producer or consumer", *role)
	}
	if errors.Is(err, context.Canceled) {
		fmt.Println(*role + ": interrupted")
	} else if err != nil {
		log.Fatalf("%s: %v", *role, err)
	}
}

func produce(ctx context.Context, name, id string, n int, grace time.Duration) error {
	// A small ring (16 records), so the producer soon waits for the
	// consumer and the example shows what happens while it is down.
	p, err := ring.Create[Record](name, ring.Config{Capacity: 16})
	if err != nil {
		return err
	}
	defer p.Close()

	// Make id required. A consumer that is merely attached holds the
	// producer back only while it is attached; a required one holds it
	// back even when it dies, so that it can come back for what it missed.
	// If it makes no progress for about grace while the ring is full, the
	// next Send returns an error (Action: ring.ReturnError, the default).
	err = p.Require(ring.RequiredConfig{
		IDs:         []string{id},
		GracePeriod: grace,
		Alert: func(a ring.StallAlert) {
			fmt.Printf("producer: %s is not reading (stuck at %d for %v), waiting up to %v for it\n",
				a.ID, a.Position, a.StalledFor.Round(time.Millisecond), grace)
		},
	})
	if err != nil {
		return err
	}

	// The first Send waits for id to attach (until ctx ends): producer
	// and consumer may start in any order.
	fmt.Printf("producer: created ring %q, waiting for %s\n", name, id)
	for i := range n {
		r := Record{Seq: int64(i), Amount: int64(i) * 100}
		if _, err := p.Send(ctx, &r); err != nil {
			return err
		}
		fmt.Printf("producer: sent %d\n", r.Seq)
	}

	// Close removes the ring, which a consumer that is down right now
	// would need to come back to: wait until it has read the last record.
	fmt.Printf("producer: sent all %d, waiting for %s to read them\n", n, id)
	if err := p.Drain(ctx); err != nil {
		return err
	}
	fmt.Println("producer: done, closing the ring")
	return nil
}

func consume(ctx context.Context, name, id string, delay time.Duration) error {
	fmt.Printf("consumer: waiting for ring %q\n", name)
	// Attaching under an id that has been used before on this ring resumes
	// after the last record that id finished.
	c, err := ring.Attach[Record](ctx, name, ring.ConsumerConfig{ID: id})
	if err != nil {
		return err
	}
	defer c.Close()
	if pos := c.Position(); pos >= 0 {
		fmt.Printf("consumer: attached as %s, resuming after record %d\n", id, pos)
	} else {
		fmt.Printf("consumer: attached as %s, starting from the first record\n", id)
	}

	for {
		// Read lends the record to the function in place (with its position
		// in the ring, unused here); it counts as finished only when the
		// function returns. A consumer killed inside it gets the same record
		// again when it comes back.
		err := c.Read(ctx, func(r *Record, _ int64) error {
			fmt.Printf("consumer: read %d\n", r.Seq)
			time.Sleep(delay) // the work
			return nil
		})
		if errors.Is(err, ring.ErrEndOfStream) {
			fmt.Println("consumer: end of stream")
			return nil
		}
		if err != nil {
			return err
		}
	}
}
