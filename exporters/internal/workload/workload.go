// Package workload runs, for the exporters' tests, a known workload on
// real shm rings in the test's process, so that the tests can check the
// exported metrics against exact values.
package workload

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
	"github.com/myelon-go/myelon/snapshot"
)

// The workload. On a byte ring: Events events published, Consumed of them
// read by consumer RingConsumer. On a frame ring: messages of the sizes
// of MessageSizes published and all of them read by FrameConsumer. On a
// bridged frame ring: a producer that is an inbound NATS bridge, with the
// counters of Inbound, and a consumer, BridgeConsumer, that is an outbound
// one, with those of Outbound.
const (
	Events       = 10
	Consumed     = 4
	RingConsumer = "c1"

	FrameConsumer = "f1"
	// PayloadCapacity is the frame ring's payload per frame: a message of
	// 300 bytes takes 5 frames.
	PayloadCapacity = 64
	Fragments       = 1 + 1 + 1 + 2 + 5 // frames of the MessageSizes
	MultiFrame      = 2                 // messages of more than one frame
	Bytes           = 0 + 10 + 64 + 65 + 300

	BridgeConsumer = "to-nats"
)

// The bridged ring's counters, written in the segment as the bridge
// writes them: distinct values, so that a counter exported from the wrong
// slot shows.
var (
	Inbound  = snapshot.BridgeInboundStats{Written: 41, Duplicates: 3, Lost: 2, Errors: 1}
	Outbound = snapshot.BridgeOutboundStats{Published: 17, Acked: 15, Republished: 4, Errors: 5}
)

// MessageSizes are the sizes of the frame ring's messages.
var MessageSizes = []int{0, 10, 64, 65, 300}

// Rings names the workload's rings (Shm backend).
type Rings struct {
	Ring   string // the byte ring
	Frame  string // the frame ring
	Bridge string // the bridged frame ring
}

// Run creates the rings, runs the workload and leaves them open, with
// their producer and consumer, until the test ends; then closes them,
// which removes the segments.
func Run(t testing.TB) Rings {
	t.Helper()
	ctx := context.Background()
	rs := Rings{Ring: ring.PortableName("mxr"), Frame: ring.PortableName("mxf"), Bridge: ring.PortableName("mxb")}

	p, err := ring.CreateBytes(rs.Ring, ring.Config{SlotSize: 64, Capacity: 64})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	c, err := ring.AttachBytes(ctx, rs.Ring, ring.ConsumerConfig{ID: RingConsumer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for i := range Events {
		if _, err := p.Send(ctx, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 64)
	for range Consumed {
		if _, err := c.Recv(ctx, buf); err != nil {
			t.Fatal(err)
		}
	}

	fp, err := frame.Create(rs.Frame, frame.Config{PayloadCapacity: PayloadCapacity, Capacity: 64})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fp.Close() })
	fc, err := frame.Attach(ctx, rs.Frame, frame.ConsumerConfig{ID: FrameConsumer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fc.Close() })
	for _, n := range MessageSizes {
		if _, err := fp.Send(ctx, 1, make([]byte, n)); err != nil {
			t.Fatal(err)
		}
	}
	fp.Stats() // writes the producer's counters to the segment
	msg := make([]byte, 512)
	for range MessageSizes {
		if _, _, err := fc.Recv(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	// Finding the ring empty, the consumer writes its counters to the
	// segment.
	if _, _, err := fc.TryRecv(msg); !errors.Is(err, ring.ErrEmpty) {
		t.Fatalf("TryRecv on the drained frame ring: %v, want ErrEmpty", err)
	}
	bridged(t, rs.Bridge)
	return rs
}

// bridged creates the bridged ring: its producer and consumer BridgeConsumer
// store a bridge's marker and counters in their LayerCounters as the NATS
// bridge does, through the ring's API.
func bridged(t testing.TB, name string) {
	t.Helper()
	bp, err := frame.Create(name, frame.Config{PayloadCapacity: PayloadCapacity, Capacity: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bp.Close() })
	bc, err := frame.Attach(context.Background(), name, frame.ConsumerConfig{ID: BridgeConsumer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bc.Close() })
	pid := uint32(os.Getpid())
	l := bp.LayerCounters()
	l.Store(snapshot.BridgeRoleSlot, snapshot.BridgeMarker(snapshot.BridgeInbound, pid))
	l.StoreSlots(snapshot.BridgeSlotWritten, []uint64{Inbound.Written, Inbound.Duplicates, Inbound.Lost, Inbound.Errors})
	l = bc.LayerCounters()
	l.Store(snapshot.BridgeRoleSlot, snapshot.BridgeMarker(snapshot.BridgeOutbound, pid))
	l.StoreSlots(snapshot.BridgeSlotPublished, []uint64{Outbound.Published, Outbound.Acked, Outbound.Republished, Outbound.Errors})
}

// Unreadable leaves at path a file-backed ring that cannot be read: a
// closed ring whose layout version a peer scribbled over.
func Unreadable(t testing.TB, path string) {
	t.Helper()
	p, err := ring.CreateBytes(path, ring.Config{Backend: ring.File, SlotSize: 64, Capacity: 8, KeepOnClose: true})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const versionOffset = 8 // of the header's layout version, a uint32
	if _, err := f.WriteAt([]byte{99, 0, 0, 0}, versionOffset); err != nil {
		t.Fatal(err)
	}
}
