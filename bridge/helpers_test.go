package bridge_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/myelon-go/myelon/bridge"
	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/internal/childtest"
	"github.com/myelon-go/myelon/ring"
	"github.com/nats-io/nats-server/v2/server"
)

// TestChildProcess is the entry point of the bridges run as child
// processes.
func TestChildProcess(t *testing.T) { childtest.Run(t) }

// childOptions give the bridge processes room for a whole stream.
var childOptions = childtest.Options{Timeout: 60 * time.Second, Life: 3 * time.Minute}

// runServer starts an embedded nats-server with JetStream on store (a
// random port when port is -1) and stops it when the test ends.
func runServer(tb testing.TB, store string, port int) *server.Server {
	tb.Helper()
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: store,
		NoLog: true, NoSigs: true,
	})
	if err != nil {
		tb.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		tb.Fatal("nats-server not ready")
	}
	tb.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// reclaim removes the segment name when the test ends, should a process
// that owned it have died.
func reclaim(tb testing.TB, name string) {
	tb.Cleanup(func() { ring.Reclaim(ring.Shm, name) })
}

// payload is message i: its index, then bytes derived from it; every 97th
// message spans several frames of the test rings.
func payload(i int) []byte {
	n := 16 + i%113
	if i%97 == 0 {
		n = 700
	}
	b := make([]byte, n)
	binary.LittleEndian.PutUint64(b, uint64(i))
	for j := 8; j < n; j++ {
		b[j] = byte(i*31 + j)
	}
	return b
}

func checkPayload(tb testing.TB, want int, got []byte) {
	tb.Helper()
	if !bytes.Equal(got, payload(want)) {
		idx := -1
		if len(got) >= 8 {
			idx = int(binary.LittleEndian.Uint64(got))
		}
		tb.Fatalf("message %d: got %d bytes carrying index %d, want %d bytes", want, len(got), idx, len(payload(want)))
	}
}

// outboundArgs and inboundArgs are the bridges' roles' arguments.
type outboundArgs struct{ Cfg bridge.OutboundConfig }

type inboundArgs struct {
	Cfg     bridge.InboundConfig
	WaitFor string // consumer id to wait for in the ring before running
}

// The outbound role runs an outbound bridge until its ring ends or the
// parent says "stop", then reports its counters.
var outboundRole = childtest.Register("bridge.outbound", func(t *testing.T, c *childtest.Child, a outboundArgs) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.Cfg.Logger = childLogger()
	o, err := bridge.NewOutbound(ctx, a.Cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Say("ready")
	go func() {
		c.Await("stop")
		cancel()
	}()
	err = o.Run(ctx)
	if cerr := o.Close(); err == nil {
		err = cerr
	}
	if err != nil && ctx.Err() == nil {
		t.Fatal(err)
	}
	c.Result(o.Stats())
})

// startInbound starts an inbound bridge child that creates ring cfg.Ring,
// attaches the test's consumer "final" to it, and returns once the bridge
// is subscribed.
func startInbound(ctx context.Context, t *testing.T, cfg bridge.InboundConfig) (*childtest.Proc, *frame.Consumer) {
	t.Helper()
	in := inboundRole.Start(t, inboundArgs{Cfg: cfg, WaitFor: "final"}, childOptions)
	final, err := frame.Attach(ctx, cfg.Ring, frame.ConsumerConfig{ID: "final"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { final.Close() })
	in.Expect("ready")
	return in, final
}

// The inbound role runs an inbound bridge until the parent says "stop",
// then closes its ring and reports its counters.
var inboundRole = childtest.Register("bridge.inbound", func(t *testing.T, c *childtest.Child, a inboundArgs) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.Cfg.Logger = childLogger()
	in, err := bridge.NewInbound(ctx, a.Cfg)
	if err != nil {
		t.Fatal(err)
	}
	if a.WaitFor != "" {
		if err := in.Producer().WaitForConsumerIDs(ctx, a.WaitFor); err != nil {
			t.Fatal(err)
		}
	}
	go func() {
		c.Await("stop")
		cancel()
	}()
	err = in.Run(ctx, func() { c.Say("ready") })
	if err != nil && ctx.Err() == nil {
		t.Fatal(err)
	}
	st := in.Stats()
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	c.Result(st)
})

// childLogger logs a child bridge's events on its stderr, which the parent
// shows if the test fails.
func childLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
