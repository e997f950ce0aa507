package bridge_test

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/myelon-go/myelon/bridge"
	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestJetStreamInboundKill: the inbound bridge, joined to a destination
// ring that outlives it, is killed with SIGKILL three times mid-stream and
// replaced each time. Nothing is lost and nothing is written twice: what a
// killed bridge had written but not acknowledged comes again from
// JetStream, and its successor's receipts skip it.
func TestJetStreamInboundKill(t *testing.T) {
	const n, batch = 10_000, 64
	srv := runServer(t, t.TempDir(), -1)
	src, dst := ring.PortableName("brks"), ring.PortableName("brkd")
	reclaim(t, src)
	reclaim(t, dst)
	natsCfg := bridge.NATS{URL: srv.ClientURL(), Subject: "myelon." + src, Mode: bridge.JetStream, Stream: "K" + src, RetryWait: bridge.Duration(100 * time.Millisecond)}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	nc, err := nats.Connect(natsCfg.URL)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	if _, err := bridge.EnsureStream(ctx, js, natsCfg); err != nil {
		t.Fatal(err)
	}
	nc.Close()

	p, err := frame.Create(src, frame.Config{Capacity: 512, PayloadCapacity: 224})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	owner, err := frame.Create(dst, frame.Config{Capacity: 512, PayloadCapacity: 224, MaxProducers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	final, err := frame.Attach(ctx, dst, frame.ConsumerConfig{ID: "final"})
	if err != nil {
		t.Fatal(err)
	}
	defer final.Close()
	inArgs := inboundArgs{Cfg: bridge.InboundConfig{NATS: natsCfg, Ring: dst, Join: true, Batch: batch,
		AckWait: bridge.Duration(2 * time.Second), StateDir: t.TempDir()}}
	in := inboundRole.Start(t, inArgs, childOptions)
	in.Expect("ready")
	out := outboundRole.Start(t, outboundArgs{bridge.OutboundConfig{NATS: natsCfg, Ring: src, ConsumerID: "out"}}, childOptions)
	out.Expect("ready")

	sent := make(chan error, 1)
	senderDone := make(chan struct{})
	defer func() {
		cancel()
		<-senderDone
	}()
	go func() {
		defer close(senderDone)
		for i := range n {
			if _, err := p.SendFlags(ctx, uint8(i%7), uint8(i%5), payload(i)); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()

	buf := make([]byte, 1024)
	next, kills := 0, 0
	for next < n {
		if kills < 3 && next == (kills+1)*n/4 {
			in.Kill()
			in = inboundRole.Start(t, inArgs, childOptions)
			in.Expect("ready")
			kills++
		}
		k, _, err := final.Recv(ctx, buf)
		if err != nil {
			t.Fatalf("after message %d: %v", next-1, err)
		}
		i := int(binary.LittleEndian.Uint64(buf))
		checkPayload(t, i, buf[:k])
		switch {
		case i == next:
			next++
		case i < next:
			t.Fatalf("message %d after %d: written twice (%d kills so far)", i, next-1, kills)
		default:
			t.Fatalf("message %d after %d: lost or out of order", i, next-1)
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	in.Send("stop")
	in.Wait()
	p.Close()
	out.Wait()
}
