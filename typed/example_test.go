package typed_test

import (
	"context"
	"fmt"

	"github.com/myelon-go/myelon/codec/bincode"
	"github.com/myelon-go/myelon/codec/raw"
	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
	"github.com/myelon-go/myelon/typed"
)

// Order is an application type with a hand-written bincode encoding.
type Order struct {
	ID     uint64
	Symbol string
	Price  float64
}

func (o *Order) AppendBincode(b []byte) []byte {
	b = bincode.AppendU64(b, o.ID)
	b = bincode.AppendString(b, o.Symbol)
	return bincode.AppendF64(b, o.Price)
}

func (o *Order) UnmarshalBincode(r *bincode.Reader) error {
	o.ID = r.U64()
	o.Symbol = r.Str()
	o.Price = r.F64()
	return r.Err()
}

// Layer 2: a producer and a consumer of Orders encoded with bincode, on
// the Heap backend (use the default Shm backend between processes).
func Example() {
	ctx := context.Background()
	p, err := typed.Create("orders", bincode.New[Order]("example.Order", 1), typed.Config{
		Backend: ring.Heap, Capacity: 16,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	c, err := typed.Attach(context.Background(), "orders", bincode.New[Order]("example.Order", 1), typed.ConsumerConfig{
		Backend: ring.Heap, ID: "book",
	})

	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	p.Send(ctx, &Order{ID: 1, Symbol: "BTC-USDT", Price: 64000.5})
	p.SendKind(ctx, 7, &Order{ID: 2, Symbol: "ETH-USDT", Price: 3100})

	var o Order
	m, err := c.Recv(ctx, &o)
	fmt.Printf("Recv: id %d kind %d %+v %v\n", m.ID, m.Kind, o, err)
	p.Close()
	for m, o := range c.All(ctx) {
		fmt.Printf("All: id %d kind %d %+v\n", m.ID, m.Kind, *o)
	}
	fmt.Println("end:", c.Err())
	// Output:
	// Recv: id 1 kind 0 {ID:1 Symbol:BTC-USDT Price:64000.5} <nil>
	// All: id 2 kind 7 {ID:2 Symbol:ETH-USDT Price:3100}
	// end: <nil>
}

// Tick is a fixed-size pointer-free record.
type Tick struct {
	Seq   uint64
	Price float64
	Qty   int64
}

// Layer 3: read Ticks in place with the raw codec. The *Tick handed to
// the callback points into the ring slot and is valid only until the
// callback returns.
func Example_zeroCopy() {
	ctx := context.Background()
	codec := raw.MustNew[Tick]()
	p, err := typed.Create("ticks", codec, typed.Config{
		Aligned: true, Backend: ring.Heap, Capacity: 16,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	c, err := typed.AttachView(context.Background(), "ticks", codec, typed.ConsumerConfig{
		Backend: ring.Heap, ID: "chart",
	})

	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	for i := range 3 {
		p.Send(ctx, &Tick{Seq: uint64(i), Price: 100 + float64(i)/4, Qty: 10})
	}
	var sum float64
	n, err := c.Process(ctx, 0, func(m frame.Meta, t *Tick) error {
		sum += t.Price * float64(t.Qty) // read in place; do not keep t
		return nil
	})
	fmt.Println(n, sum, err)
	// Output:
	// 3 3007.5 <nil>
}
