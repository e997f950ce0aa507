// Command framed sends variable-length messages of several kinds from one
// process to another over a frame ring. A ring slot (a "frame") holds up
// to 1 KiB here; longer messages are split over several frames and put
// back together for the consumer, which sees whole messages only.
//
// In two terminals, in either order:
//
//	go run ./examples/framed -role=consumer
//	go run ./examples/framed -role=producer
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"log"
	"math"
	"os"
	"os/signal"
	"syscall"

	"github.com/myelon-go/myelon/frame"
)

// Message kinds: one byte carried with every message, for the application
// to say what the payload is.
const (
	kindText  uint8 = 1 // UTF-8 text
	kindPrice uint8 = 2 // 16 bytes: a uint64 instrument id, a float64 price
	kindBlob  uint8 = 3 // opaque bytes, larger than a frame
)

func kindName(k uint8) string {
	switch k {
	case kindText:
		return "text"
	case kindPrice:
		return "price"
	case kindBlob:
		return "blob"
	}
	return fmt.Sprintf("kind-%d", k)
}

func main() {
	role := flag.String("role", "consumer", "producer or consumer")
	name := flag.String("ring", "framed", "ring name (both sides must use the same)")
	rounds := flag.Int("n", 3, "producer: rounds of messages to send (one of each kind per round)")
	flag.Parse()

	// Ctrl-C (or SIGTERM) cancels ctx: blocking calls return, deferred
	// Close calls run.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var err error
	switch *role {
	case "producer":
		err = produce(ctx, *name, *rounds)
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

// describe summarises a message the same way on both sides, so the two
// outputs can be compared line by line.
func describe(id uint64, kind uint8, payload []byte) string {
	return fmt.Sprintf("id=%d kind=%s bytes=%d crc=%08x", id, kindName(kind), len(payload), crc32.ChecksumIEEE(payload))
}

func produce(ctx context.Context, name string, rounds int) error {
	// 64 frames of 1 KiB payload each. Messages up to 16 MiB (the default
	// limit) can be sent: longer than a frame they take several frames,
	// longer than the whole ring they stream through it.
	p, err := frame.Create(name, frame.Config{Capacity: 64, PayloadCapacity: 1024})
	if err != nil {
		return err
	}
	defer p.Close() // consumers read what is left, then see end of stream

	fmt.Printf("producer: created ring %q, waiting for a consumer\n", name)
	if err := p.WaitForConsumers(ctx, 1, ""); err != nil {
		return err
	}

	send := func(kind uint8, payload []byte) error {
		// Send copies payload into the ring (the buffer may be reused
		// right after) and returns the message id: 1, 2, 3, ...
		id, err := p.Send(ctx, kind, payload)
		if err != nil {
			return err
		}
		fmt.Println("producer: sent", describe(id, kind, payload))
		return nil
	}
	for i := range rounds {
		if err := send(kindText, fmt.Appendf(nil, "hello number %d", i)); err != nil {
			return err
		}
		price := make([]byte, 16)
		binary.LittleEndian.PutUint64(price[0:], uint64(1000+i))
		binary.LittleEndian.PutUint64(price[8:], math.Float64bits(99.5+float64(i)))
		if err := send(kindPrice, price); err != nil {
			return err
		}
		// 1500, 3000, 4500, ... bytes: two, three, five ... frames.
		if err := send(kindBlob, pattern(1500*(i+1), i)); err != nil {
			return err
		}
	}
	// 100 KiB: more than the whole ring (64 KiB). It is sent in pieces
	// while the consumer reads the first ones.
	if err := send(kindBlob, pattern(100<<10, rounds)); err != nil {
		return err
	}
	fmt.Println("producer: done, closing the ring")
	return nil
}

// pattern returns n bytes of test data.
func pattern(n, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + seed)
	}
	return b
}

func consume(ctx context.Context, name string) error {
	fmt.Printf("consumer: waiting for ring %q\n", name)
	c, err := frame.Attach(ctx, name, frame.ConsumerConfig{})
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Println("consumer: attached")

	for {
		// Read waits for the next whole message and lends it to the
		// function: payload is only valid until the function returns
		// (copy it to keep it). Recv and RecvAppend copy instead.
		err := c.Read(ctx, func(m frame.Meta, payload []byte) error {
			line := "consumer: got " + describe(m.ID, m.Kind, payload)
			switch m.Kind {
			case kindText:
				line += fmt.Sprintf(" %q", payload)
			case kindPrice:
				if len(payload) == 16 {
					line += fmt.Sprintf(" instrument %d at %.2f", binary.LittleEndian.Uint64(payload),
						math.Float64frombits(binary.LittleEndian.Uint64(payload[8:])))
				}
			}
			fmt.Println(line)
			return nil
		})
		if errors.Is(err, frame.ErrEndOfStream) {
			s := c.Stats()
			fmt.Printf("consumer: end of stream: %d messages, %d of them split over several frames, %d frames in all\n",
				s.Messages, s.MultiFrame, s.Fragments)
			return nil
		}
		if err != nil {
			return err
		}
	}
}
