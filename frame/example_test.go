package frame_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
)

// A producer and a consumer on the Heap backend (process-local memory; use
// the default Shm backend between processes). The second message is longer
// than a frame: it is sent as three fragments and reassembled.
func Example() {
	ctx := context.Background()
	p, err := frame.Create("example", frame.Config{
		PayloadCapacity: 16,
		Backend:         ring.Heap, Capacity: 8,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	c, err := frame.Attach(context.Background(), "example", frame.ConsumerConfig{Backend: ring.Heap, ID: "reader"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	p.Send(ctx, 1, []byte("hello"))
	p.Send(ctx, 2, []byte("a message longer than one 16-byte frame"))
	p.Send(ctx, 3, []byte("bye"))

	// Owned: copy into a buffer.
	buf := make([]byte, 8)
	n, m, err := c.Recv(ctx, buf)
	fmt.Printf("Recv: id %d kind %d %q %v\n", m.ID, m.Kind, buf[:n], err)

	// Too small a buffer leaves the message unread.
	_, _, err = c.Recv(ctx, buf)
	var sb *frame.ShortBufferError
	if errors.As(err, &sb) {
		fmt.Println("Recv:", err)
	}

	// Borrowed: the payload is valid until the callback returns.
	c.Read(ctx, func(m frame.Meta, payload []byte) error {
		fmt.Printf("Read: id %d kind %d %q\n", m.ID, m.Kind, payload)
		return nil
	})

	p.Close() // end of stream once everything is read
	for m, payload := range c.All(ctx) {
		fmt.Printf("All: id %d kind %d %q\n", m.ID, m.Kind, payload)
	}
	st := c.Stats()
	fmt.Printf("%d messages, %d fragments, %d bytes, err %v\n", st.Messages, st.Fragments, st.Bytes, c.Err())
	// Output:
	// Recv: id 1 kind 1 "hello" <nil>
	// Recv: frame: buffer too short for message: need 39 bytes, have 8
	// Read: id 2 kind 2 "a message longer than one 16-byte frame"
	// All: id 3 kind 3 "bye"
	// 3 messages, 5 fragments, 47 bytes, err <nil>
}

// Two producers on one multi-producer ring: the creator and one that
// joined (usually in another process). Each numbers its messages from 1;
// here the kind tells the consumer which producer sent a message.
func ExampleJoin() {
	ctx := context.Background()
	p, err := frame.Create("example-mp", frame.Config{
		PayloadCapacity: 16,
		Backend:         ring.Heap, Capacity: 16, MaxProducers: 2,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	c, err := frame.Attach(context.Background(), "example-mp", frame.ConsumerConfig{Backend: ring.Heap})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	q, err := frame.Join(context.Background(), "example-mp", frame.JoinConfig{Backend: ring.Heap})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer q.Close()

	p.Send(ctx, 'p', []byte("from the creator"))
	q.Send(ctx, 'q', []byte("from the producer that joined: three frames"))
	p.Send(ctx, 'p', []byte("creator again"))

	for range 3 {
		c.Read(ctx, func(m frame.Meta, payload []byte) error {
			fmt.Printf("%c id %d seq %d: %q\n", m.Kind, m.ID, m.Seq, payload)
			return nil
		})
	}
	// Output:
	// p id 1 seq 0: "from the creator"
	// q id 1 seq 1: "from the producer that joined: three frames"
	// p id 2 seq 4: "creator again"
}

// An observer does not hold the producer back: one that falls a ring
// behind is told so, and goes on from the oldest message still intact.
func ExampleAttach_observer() {
	ctx := context.Background()
	p, err := frame.Create("example-obs", frame.Config{
		PayloadCapacity: 16,
		Backend:         ring.Heap, Capacity: 4,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	o, err := frame.Attach(context.Background(), "example-obs", frame.ConsumerConfig{Backend: ring.Heap, Observer: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer o.Close()

	for i := range 6 { // six messages through four slots: nothing waits
		p.Send(ctx, 0, fmt.Appendf(nil, "message %d", i+1))
	}
	for {
		err := o.TryRead(func(m frame.Meta, payload []byte) error {
			fmt.Printf("id %d: %q\n", m.ID, payload)
			return nil
		})
		if errors.Is(err, frame.ErrEmpty) {
			break
		}
		if errors.Is(err, frame.ErrLapped) {
			fmt.Println(err)
		}
	}
	fmt.Printf("lapped %d time(s)\n", o.Stats().Lapped)
	// Output:
	// ring: consumer lapped: missed 3 events, resuming at 3
	// id 4: "message 4"
	// id 5: "message 5"
	// id 6: "message 6"
	// lapped 1 time(s)
}
