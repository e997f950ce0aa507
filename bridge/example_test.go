package bridge_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/myelon-go/myelon/bridge"
	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
	"github.com/nats-io/nats-server/v2/server"
)

// A ring bridged to another ring through core NATS. The two bridges run in
// one process here; in a deployment each runs on its own host, next to its
// ring.
func Example() {
	// An embedded server stands in for the NATS a deployment runs.
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		log.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		log.Fatal("nats-server not ready")
	}
	defer s.Shutdown()

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	src, dst := ring.PortableName("ex-out"), ring.PortableName("ex-in")
	subject := bridge.NATS{URL: s.ClientURL(), Subject: "example.quotes"}

	// Host B: the inbound bridge creates the local ring; a consumer reads it.
	in, err := bridge.NewInbound(ctx, bridge.InboundConfig{NATS: subject, Ring: dst})
	if err != nil {
		log.Fatal(err)
	}
	c, err := frame.Attach(ctx, dst, frame.ConsumerConfig{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ready, inDone := make(chan struct{}), make(chan error, 1)
	go func() { inDone <- in.Run(ctx, func() { close(ready) }) }()
	<-ready

	// Host A: a producer's ring, and the outbound bridge consuming it.
	p, err := frame.Create(src, frame.Config{})
	if err != nil {
		log.Fatal(err)
	}
	out, err := bridge.NewOutbound(ctx, bridge.OutboundConfig{NATS: subject, Ring: src, ConsumerID: "nats"})
	if err != nil {
		log.Fatal(err)
	}
	outDone := make(chan error, 1)
	go func() { outDone <- out.Run(ctx) }()

	for i, q := range []string{"EURUSD 1.0841", "GBPUSD 1.2712", "USDJPY 151.42"} {
		if _, err := p.Send(ctx, uint8(i+1), []byte(q)); err != nil {
			log.Fatal(err)
		}
	}
	for range 3 {
		b, m, err := c.RecvAppend(ctx, nil)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("kind %d: %s\n", m.Kind, b)
	}

	p.Close() // the outbound bridge publishes what is left, then returns
	if err := <-outDone; err != nil {
		log.Fatal(err)
	}
	out.Close()
	stop()
	<-inDone
	in.Close()
	// Output:
	// kind 1: EURUSD 1.0841
	// kind 2: GBPUSD 1.2712
	// kind 3: USDJPY 151.42
}
