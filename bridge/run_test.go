package bridge_test

import (
	"context"
	"testing"

	"github.com/myelon-go/myelon/bridge"
	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestRun runs both bridges from Configs, as myelon-bridge does, through a
// stream the outbound bridge creates, and stops them by cancelling.
func TestRun(t *testing.T) {
	srv := runServer(t, t.TempDir(), -1)
	src, dst := ring.PortableName("brrs"), ring.PortableName("brrd")
	reclaim(t, src)
	reclaim(t, dst)
	n := bridge.NATS{URL: srv.ClientURL(), Subject: "run." + src, Mode: bridge.JetStream, Stream: "R" + src, CreateStream: true}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	p, err := frame.Create(src, frame.Config{Capacity: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	outDone := make(chan error, 1)
	go func() {
		outDone <- bridge.Run(ctx, bridge.Config{Outbound: &bridge.OutboundConfig{NATS: n, Ring: src, ConsumerID: "out"}})
	}()
	if err := p.WaitForConsumerIDs(ctx, "out"); err != nil {
		t.Fatal(err)
	}
	const count = 500
	for i := range count {
		if _, err := p.Send(ctx, 3, payload(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Drain(ctx); err != nil { // all in the stream
		t.Fatal(err)
	}

	// The destination ring is this process's; its consumer attaches before
	// the inbound bridge joins it, after the fact: the stream kept
	// everything.
	owner, err := frame.Create(dst, frame.Config{Capacity: 64, MaxProducers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	c, err := frame.Attach(ctx, dst, frame.ConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	inDone := make(chan error, 1)
	go func() {
		inDone <- bridge.Run(ctx, bridge.Config{Inbound: &bridge.InboundConfig{NATS: n, Ring: dst, Join: true}})
	}()
	buf := make([]byte, 1024)
	for i := range count {
		k, m, err := c.Recv(ctx, buf)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if m.Kind != 3 {
			t.Fatalf("message %d: kind %d", i, m.Kind)
		}
		checkPayload(t, i, buf[:k])
	}
	cancel()
	if err := <-outDone; err != nil {
		t.Errorf("outbound Run: %v, want nil after cancel", err)
	}
	if err := <-inDone; err != nil {
		t.Errorf("inbound Run: %v, want nil after cancel", err)
	}

	// The stream's consumer saw everything acknowledged.
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	cons, err := js.Consumer(context.Background(), n.Stream, "myelon-bridge-"+dst)
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.NumAckPending != 0 || info.NumPending != 0 || info.AckFloor.Stream != count {
		t.Errorf("consumer: %d ack pending, %d pending, ack floor %d; want 0, 0, %d", info.NumAckPending, info.NumPending, info.AckFloor.Stream, count)
	}
}
