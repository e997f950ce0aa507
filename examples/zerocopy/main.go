// Command zerocopy reads fixed-size structs in place: the consumer gets a
// pointer straight into the shared ring slot instead of a decoded copy.
// Both sides use the raw codec (a struct's encoding is its memory), so the
// struct must be fixed-size without pointers, strings or slices.
//
// In two terminals, in either order:
//
//	go run ./examples/zerocopy -role=consumer
//	go run ./examples/zerocopy -role=producer
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

	"github.com/myelon-go/myelon/codec/raw"
	"github.com/myelon-go/myelon/typed"
)

// Quote is the value sent: fixed size, no pointers.
type Quote struct {
	Seq     uint64
	Bid     float64
	Ask     float64
	BidSize int64
	AskSize int64
}

func main() {
	role := flag.String("role", "consumer", "producer or consumer")
	name := flag.String("ring", "zerocopy", "ring name (both sides must use the same)")
	n := flag.Int("n", 5, "producer: number of quotes to send")
	flag.Parse()

	// Ctrl-C (or SIGTERM) cancels ctx: blocking calls return, deferred
	// Close calls run.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var err error
	switch *role {
	case "producer":
		err = produce(ctx, *name, *n)
	case "consumer":
		err = consume(ctx, *name)
	default:
		log.Fatalf("unknown -role %q: want producer or consumer", *role)
	}
	if errors.Is(err, context.Canceled) {
		fmt.Println(*role + ": interrupted")
	} else if err != nil {
		log.Fatalf("%s: %v", *role, err)
	}
}

func produce(ctx context.Context, name string, n int) error {
	// raw.MustNew checks that Quote can be shared (fixed size, no
	// pointers); its schema is Quote's layout, so a consumer with a
	// different Quote is refused at attach.
	p, err := typed.Create(name, raw.MustNew[Quote](), typed.Config{Capacity: 256})
	if err != nil {
		return err
	}
	defer p.Close() // consumers read what is left, then see end of stream

	fmt.Printf("producer: created ring %q, waiting for a consumer\n", name)
	if err := p.WaitForConsumers(ctx, 1, ""); err != nil {
		return err
	}
	var q Quote
	for i := range n {
		q = Quote{Seq: uint64(i), Bid: 99.75 + float64(i), Ask: 100.25 + float64(i), BidSize: int64(10 + i), AskSize: int64(20 + i)}
		if _, err := p.Send(ctx, &q); err != nil {
			return err
		}
		fmt.Printf("producer: sent quote %d\n", q.Seq)
	}
	fmt.Println("producer: done, closing the ring")
	return nil
}

func consume(ctx context.Context, name string) error {
	fmt.Printf("consumer: waiting for ring %q\n", name)
	// AttachView instead of Attach: messages are handed over as views
	// (here a *Quote into the ring) rather than decoded copies.
	c, err := typed.AttachView(ctx, name, raw.MustNew[Quote](), typed.ConsumerConfig{})
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Println("consumer: attached")

	for {
		// q points into shared memory: read it inside the function, do not
		// keep it or write through it (copy *q to keep the value).
		err := c.Read(ctx, func(m typed.Meta, q *Quote) error {
			fmt.Printf("consumer: quote %d bid %.2f x %d ask %.2f x %d (spread %.2f, read in place)\n",
				q.Seq, q.Bid, q.BidSize, q.Ask, q.AskSize, q.Ask-q.Bid)
			return nil
		})
		if errors.Is(err, typed.ErrEndOfStream) {
			fmt.Println("consumer: end of stream")
			return nil
		}
		if err != nil {
			return err
		}
	}
}
