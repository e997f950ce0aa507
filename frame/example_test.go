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
		Ring:            ring.Config{Backend: ring.Heap, Capacity: 8},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	c, err := frame.Attach("example", frame.ConsumerConfig{Ring: ring.ConsumerConfig{Backend: ring.Heap, ID: "reader"}})
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
