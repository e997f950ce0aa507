package bridge_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/myelon-go/myelon/bridge"
	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// chaos is what happens to the pipeline mid-stream.
type chaos struct {
	killOutbound  bool // SIGKILL the outbound bridge at a third of the stream, start another
	restartServer bool // restart the nats-server at two thirds
}

// pipeline runs ring -> outbound bridge -> NATS -> inbound bridge -> ring
// with n messages, the bridges in child processes and the server in this
// one, and checks that the final consumer receives every message once, in
// order, with its kind, flags and content.
func pipeline(t *testing.T, mode bridge.Mode, n int, ch chaos) {
	store := t.TempDir()
	srv := runServer(t, store, -1)
	url := srv.ClientURL()
	src, dst := ring.PortableName("brs"), ring.PortableName("brd")
	reclaim(t, src)
	reclaim(t, dst)
	subject, streamName := "myelon."+src, "S"+src
	natsCfg := bridge.NATS{URL: url, Subject: subject, Mode: mode, Stream: streamName, RetryWait: bridge.Duration(100 * time.Millisecond)}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if mode == bridge.JetStream {
		nc, err := nats.Connect(url)
		if err != nil {
			t.Fatal(err)
		}
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bridge.EnsureStream(ctx, js, natsCfg); err != nil {
			t.Fatal(err)
		}
		nc.Close()
	}

	// The source ring, required to wait for the outbound bridge's id even
	// while it is dead, so a restarted bridge resumes where it was.
	p, err := frame.Create(src, frame.Config{Capacity: 512, PayloadCapacity: 224})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// CheckInterval above the ring's LivenessInterval (100 ms): a producer
	// blocked under the required-consumer policy probes liveness only
	// within one check, so this lets it detach the dead bridge's reader.
	if err := p.Require(ring.RequiredConfig{IDs: []string{"out"}, CheckInterval: 250 * time.Millisecond, ProgressTimeout: time.Minute, GracePeriod: time.Minute}); err != nil {
		t.Fatal(err)
	}

	in, final := startInbound(ctx, t, bridge.InboundConfig{NATS: natsCfg, Ring: dst, Capacity: 512, PayloadCapacity: 224, Batch: 128, AckWait: bridge.Duration(2 * time.Second)})
	outCfg := bridge.OutboundConfig{NATS: natsCfg, Ring: src, ConsumerID: "out", Window: 128}
	out := outboundRole.Start(t, outboundArgs{outCfg}, childOptions)
	out.Expect("ready")

	sent := make(chan error, 1)
	senderDone := make(chan struct{})
	defer func() { // the producer is the sender's until it returns
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
		sent <- p.Drain(ctx) // every message acknowledged by NATS
	}()

	buf := make([]byte, 1024)
	for i := range n {
		if ch.killOutbound && i == n/3 {
			t.Logf("%s: SIGKILL the outbound bridge at message %d", time.Now().Format("15:04:05.000"), i)
			out.Kill()
			out = outboundRole.Start(t, outboundArgs{outCfg}, childOptions)
			out.Expect("ready")
		}
		if ch.restartServer && i == 2*n/3 {
			addr := srv.Addr().String()
			srv.Shutdown()
			srv.WaitForShutdown()
			srv = runServer(t, store, portOf(t, addr))
			t.Logf("%s: server restarted at message %d", time.Now().Format("15:04:05.000"), i)
		}
		k, m, err := final.Recv(ctx, buf)
		if err != nil {
			t.Fatalf("message %d: %v\n%s", i, err, ringState(src, dst))
		}
		if m.Kind != uint8(i%7) || m.Flags != uint8(i%5) {
			t.Fatalf("message %d: kind %d flags %d, want %d %d", i, m.Kind, m.Flags, i%7, i%5)
		}
		checkPayload(t, i, buf[:k])
	}
	t.Logf("%s: %d messages received", time.Now().Format("15:04:05.000"), n)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}

	// The outbound bridge's counters are in the source ring's segment.
	_, st, err := ring.Inspect(ring.Shm, src)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range st.Consumers {
		if c.ID == "out" {
			ost := bridge.OutboundStatsOf(c.Layer)
			t.Logf("outbound counters in the ring: %+v", ost)
			if ost.Acked < uint64(n) && !ch.killOutbound {
				t.Errorf("outbound counters: acked %d of %d", ost.Acked, n)
			}
		}
	}
	if mode == bridge.JetStream {
		// The duplicate window absorbed every republished message.
		nc, err := nats.Connect(srv.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		s, err := js.Stream(ctx, streamName)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs != uint64(n) {
			t.Errorf("stream holds %d messages, want %d", info.State.Msgs, n)
		}
	}

	// Nothing more arrives: the inbound bridge closes its ring and the
	// final consumer sees the end of the stream right after message n.
	p.Close()
	var ost bridge.OutboundStats
	out.Result(&ost)
	out.Wait()
	in.Send("stop")
	var is bridge.InboundStats
	in.Result(&is)
	in.Wait()
	t.Logf("outbound %+v, inbound %+v", ost, is)
	if _, _, err := final.Recv(ctx, buf); !errors.Is(err, frame.ErrEndOfStream) {
		t.Fatalf("after %d messages: %v, want end of stream", n, err)
	}
	if is.Written != uint64(n) {
		t.Errorf("inbound wrote %d messages, want %d", is.Written, n)
	}
}

func portOf(tb testing.TB, addr string) int {
	tb.Helper()
	var port int
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			for _, c := range addr[i+1:] {
				port = port*10 + int(c-'0')
			}
			return port
		}
	}
	tb.Fatalf("no port in %q", addr)
	return 0
}

// TestCoreRoundTrip: 100,000 messages, ring to core NATS to ring, in order
// and intact.
func TestCoreRoundTrip(t *testing.T) {
	pipeline(t, bridge.Core, 100_000, chaos{})
}

// TestJetStreamRoundTrip: 100,000 messages through a JetStream stream.
func TestJetStreamRoundTrip(t *testing.T) {
	pipeline(t, bridge.JetStream, 100_000, chaos{})
}

// TestJetStreamChaos: the outbound bridge is killed with SIGKILL and
// replaced at a third of the stream, the server restarted at two thirds;
// the final consumer still gets every message exactly once, in order.
func TestJetStreamChaos(t *testing.T) {
	pipeline(t, bridge.JetStream, 30_000, chaos{killOutbound: true, restartServer: true})
}

// ringState describes the rings of a failed test.
func ringState(names ...string) string {
	var b strings.Builder
	for _, name := range names {
		_, st, err := ring.Inspect(ring.Shm, name)
		if err != nil {
			fmt.Fprintf(&b, "%s: %v\n", name, err)
			continue
		}
		fmt.Fprintf(&b, "%s: published %d\n", name, st.Published)
		for _, c := range st.Consumers {
			fmt.Fprintf(&b, "  consumer %s: state %s alive %v position %d\n", c.ID, c.State, c.Alive, c.Position)
		}
	}
	return b.String()
}
