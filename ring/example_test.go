package ring_test

import (
	"context"
	"fmt"

	"github.com/myelon-go/myelon/ring"
)

// Tick is an event: fixed size, no pointers.
type Tick struct {
	Seq   int64
	Price float64
	Qty   int32
}

// A producer creates the ring, a consumer attaches by name (from this
// process or any other), and every event published after the consumer
// joined reaches it, in order. The examples use the Heap backend so that
// they run anywhere; real rings use Shm (the default) or File.
func Example() {
	p, err := ring.Create[Tick]("ticks-example", ring.Config{Backend: ring.Heap, Capacity: 8})
	if err != nil {
		panic(err)
	}
	c, err := ring.Attach[Tick](context.Background(), "ticks-example", ring.ConsumerConfig{Backend: ring.Heap, ID: "risk"})
	if err != nil {
		panic(err)
	}
	defer c.Close()

	for i := 0; i < 3; i++ {
		p.Publish(context.Background(), func(t *Tick) {
			t.Seq, t.Price, t.Qty = int64(i), 100+float64(i)/4, int32(10*(i+1))
		})

	}
	p.Close() // consumers drain what was published, then see the end

	ctx := context.Background()
	for {
		t, err := c.Recv(ctx)
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Printf("tick %d: %.2f x %d\n", t.Seq, t.Price, t.Qty)
	}
	// Output:
	// tick 0: 100.00 x 10
	// tick 1: 100.25 x 20
	// tick 2: 100.50 x 30
	// ring: end of stream
}

// Read lends an event in place, without copying it; the slot stays
// reserved (the producer cannot overwrite it) until the callback returns.
func ExampleConsumer_Read() {
	p, _ := ring.Create[Tick]("lease-example", ring.Config{Backend: ring.Heap, Capacity: 4})
	defer p.Close()
	c, _ := ring.Attach[Tick](context.Background(), "lease-example", ring.ConsumerConfig{Backend: ring.Heap})
	defer c.Close()

	p.Publish(context.Background(), func(t *Tick) { t.Seq, t.Price = 0, 99.5 })

	err := c.Read(context.Background(), func(t *Tick, seq int64) error {
		fmt.Println("read", seq, t.Price) // t must not be kept
		return nil
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("position", c.Position())
	// Output:
	// read 0 99.5
	// position 0
}

// Process hands over every event available at once, in place, and commits
// the whole batch with one store; endOfBatch marks the last one, where a
// consumer would flush its own output.
func ExampleConsumer_Process() {
	p, _ := ring.Create[Tick]("process-example", ring.Config{Backend: ring.Heap, Capacity: 16})
	defer p.Close()
	c, _ := ring.Attach[Tick](context.Background(), "process-example", ring.ConsumerConfig{Backend: ring.Heap})
	defer c.Close()

	p.PublishBatch(context.Background(), 4, func(i int, t *Tick) { t.Seq, t.Qty = int64(i), int32(i*i) })

	var total int32
	n, err := c.Process(context.Background(), 0, func(t *Tick, seq int64, endOfBatch bool) error {
		total += t.Qty
		if endOfBatch {
			fmt.Println("flush after", seq)
		}
		return nil
	})
	fmt.Println(n, total, err)
	// Output:
	// flush after 3
	// 4 14 <nil>
}

// All is a range-over-func loop over the events; it ends at the end of the
// stream, and Err says whether anything else ended it.
func ExampleConsumer_All() {
	p, _ := ring.Create[Tick]("all-example", ring.Config{Backend: ring.Heap, Capacity: 4})
	c, _ := ring.Attach[Tick](context.Background(), "all-example", ring.ConsumerConfig{Backend: ring.Heap})
	defer c.Close()

	for i := range 3 {
		p.Publish(context.Background(), func(t *Tick) { t.Seq = int64(i) })
	}
	p.Close()

	for seq, t := range c.All(context.Background()) {
		fmt.Println(seq, t.Seq)
	}
	fmt.Println("err:", c.Err())
	// Output:
	// 0 0
	// 1 1
	// 2 2
	// err: <nil>
}

// A byte ring carries fixed-size slots; a producer claims several, fills
// them and commits them together.
func ExampleBytesProducer_Claim() {
	p, _ := ring.CreateBytes("bytes-example", ring.Config{Backend: ring.Heap, Capacity: 8, SlotSize: 16})
	defer p.Close()
	c, _ := ring.AttachBytes(context.Background(), "bytes-example", ring.ConsumerConfig{Backend: ring.Heap})
	defer c.Close()

	ctx := context.Background()
	lo, _ := p.Claim(ctx, 2)
	copy(p.Slot(lo), "hello")
	copy(p.Slot(lo+1), "world")
	p.Commit()

	lo, hi, _ := c.Wait(ctx)
	for seq := lo; seq <= hi; seq++ {
		fmt.Printf("%s\n", c.Slot(seq)[:5])
	}
	c.ReleaseThrough(hi)
	// Output:
	// hello
	// world
}
