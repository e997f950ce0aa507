// Command typed sends Go structs between processes: the producer encodes
// each Order with the bincode codec, the consumer decodes it into its own
// Order. Unlike a plain ring event, a typed value may hold strings and
// slices: it is encoded into a message of whatever length it needs.
//
// In two terminals, in either order:
//
//	go run ./examples/typed -role=consumer
//	go run ./examples/typed -role=producer
//
// (./examples/zerocopy shows the other way to read values: in place,
// without decoding.)
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

	"github.com/myelon-go/myelon/codec/bincode"
	"github.com/myelon-go/myelon/typed"
)

// Order is the value sent. Any Go type works with bincode once it can
// encode and decode itself (the two methods below).
type Order struct {
	ID     uint64
	Symbol string
	Buy    bool
	Qty    int64
	Price  float64
	Note   string
}

// AppendBincode appends the order's encoding to b, field by field. The
// order of the fields is the wire format: keep it in step with
// UnmarshalBincode (and with the Rust struct, if a Rust program reads it).
func (o *Order) AppendBincode(b []byte) []byte {
	b = bincode.AppendU64(b, o.ID)
	b = bincode.AppendString(b, o.Symbol)
	b = bincode.AppendBool(b, o.Buy)
	b = bincode.AppendI64(b, o.Qty)
	b = bincode.AppendF64(b, o.Price)
	return bincode.AppendString(b, o.Note)
}

// UnmarshalBincode reads the fields back in the same order. The reader
// remembers the first error (truncated or invalid input), so one check at
// the end is enough.
func (o *Order) UnmarshalBincode(r *bincode.Reader) error {
	o.ID = r.U64()
	o.Symbol = r.Str()
	o.Buy = r.Bool()
	o.Qty = r.I64()
	o.Price = r.F64()
	o.Note = r.Str()
	return r.Err()
}

func (o *Order) String() string {
	side := "sell"
	if o.Buy {
		side = "buy"
	}
	return fmt.Sprintf("order %d %s %s %d @ %.2f %q", o.ID, o.Symbol, side, o.Qty, o.Price, o.Note)
}

// newCodec returns the codec both sides use. The name and version form the
// ring's schema: a consumer whose codec has another name or version is
// refused at attach, so bump the version when Order's encoding changes.
func newCodec() *bincode.Codec[Order, *Order] {
	return bincode.New[Order]("examples.Order", 1)
}

func main() {
	role := flag.String("role", "consumer", "producer or consumer")
	name := flag.String("ring", "typed", "ring name (both sides must use the same)")
	n := flag.Int("n", 5, "producer: number of orders to send")
	consumers := flag.Int("consumers", 1, "producer: consumers to wait for before sending")
	flag.Parse()

	// Ctrl-C (or SIGTERM) cancels ctx: blocking calls return, deferred
	// Close calls run.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var err error
	switch *role {
	case "producer":
		err = produce(ctx, *name, *n, *consumers)
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

func produce(ctx context.Context, name string, n, consumers int) error {
	// Create records the codec's schema in the ring.
	p, err := typed.Create(name, newCodec(), typed.Config{Capacity: 256})
	if err != nil {
		return err
	}
	defer p.Close() // consumers read what is left, then see end of stream

	fmt.Printf("producer: created ring %q, waiting for %d consumer(s)\n", name, consumers)
	if err := p.WaitForConsumers(ctx, consumers, ""); err != nil {
		return err
	}

	symbols := []string{"BTC-USDT", "ETH-USDT", "SOL-USDT"}
	var o Order // reused: Send encodes it, it does not keep it
	for i := range n {
		o = Order{
			ID:     uint64(i + 1),
			Symbol: symbols[i%len(symbols)],
			Buy:    i%2 == 0,
			Qty:    int64(10 * (i + 1)),
			Price:  100 + float64(i)*1.25,
			Note:   fmt.Sprintf("client note #%d", i+1),
		}
		if _, err := p.Send(ctx, &o); err != nil {
			return err
		}
		fmt.Println("producer: sent", o.String())
	}
	fmt.Println("producer: done, closing the ring")
	return nil
}

func consume(ctx context.Context, name string) error {
	fmt.Printf("consumer: waiting for ring %q\n", name)
	// Attach checks that the ring was created with the same schema.
	c, err := typed.Attach(ctx, name, newCodec(), typed.ConsumerConfig{})
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Println("consumer: attached, schema", c.Schema())

	var o Order // reused for every message
	for {
		// Recv waits for the next message and decodes it into o.
		_, err := c.Recv(ctx, &o)
		if errors.Is(err, typed.ErrEndOfStream) {
			fmt.Println("consumer: end of stream")
			return nil
		}
		if err != nil {
			return err
		}
		fmt.Println("consumer: got", o.String())
	}
}
