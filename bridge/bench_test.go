package bridge_test

import (
	"context"
	"encoding/binary"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/myelon-go/myelon/bridge"
	"github.com/myelon-go/myelon/fabric"
	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// benchPath is ring -> outbound bridge -> NATS -> inbound bridge -> ring,
// the bridges on goroutines of this process and the server embedded.
type benchPath struct {
	p     *frame.Producer
	final *frame.Consumer
}

func newBenchPath(b *testing.B, mode bridge.Mode) *benchPath {
	b.Helper()
	srv := runServer(b, b.TempDir(), -1)
	src, dst := ring.PortableName("bbs"), ring.PortableName("bbd")
	reclaim(b, src)
	reclaim(b, dst)
	n := bridge.NATS{URL: srv.ClientURL(), Subject: "bench." + src, Mode: mode, Stream: "B" + src}
	ctx, cancel := context.WithCancel(context.Background())
	if mode == bridge.JetStream {
		nc, err := nats.Connect(n.URL)
		if err != nil {
			b.Fatal(err)
		}
		js, _ := jetstream.New(nc)
		if _, err := bridge.EnsureStream(ctx, js, n); err != nil {
			b.Fatal(err)
		}
		nc.Close()
	}
	in, err := bridge.NewInbound(ctx, bridge.InboundConfig{NATS: n, Ring: dst, Capacity: 1024, PayloadCapacity: 224})
	if err != nil {
		b.Fatal(err)
	}
	final, err := frame.Attach(ctx, dst, frame.ConsumerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	ready, inDone := make(chan struct{}), make(chan error, 1)
	go func() { inDone <- in.Run(ctx, func() { close(ready) }) }()
	<-ready
	p, err := frame.Create(src, frame.Config{Capacity: 1024, PayloadCapacity: 224})
	if err != nil {
		b.Fatal(err)
	}
	out, err := bridge.NewOutbound(ctx, bridge.OutboundConfig{NATS: n, Ring: src, ConsumerID: "out"})
	if err != nil {
		b.Fatal(err)
	}
	outDone := make(chan error, 1)
	go func() { outDone <- out.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		<-outDone
		<-inDone
		out.Close()
		p.Close()
		final.Close()
		in.Close()
	})
	return &benchPath{p: p, final: final}
}

// BenchmarkLatency measures the one-way latency of single 64-byte messages
// (each sent after the previous one arrived) from the send into the source
// ring to the receive from the destination ring: p50, p99 and p99.9 in ns.
func BenchmarkLatency(b *testing.B) {
	for _, mode := range []bridge.Mode{bridge.Core, bridge.JetStream} {
		b.Run(string(mode), func(b *testing.B) {
			bp := newBenchPath(b, mode)
			ctx := context.Background()
			msg, buf := make([]byte, 64), make([]byte, 256)
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				binary.LittleEndian.PutUint64(msg, uint64(time.Now().UnixNano()))
				if _, err := bp.p.Send(ctx, 1, msg); err != nil {
					b.Fatal(err)
				}
				n, _, err := bp.final.Recv(ctx, buf)
				if err != nil || n != len(msg) {
					b.Fatal(n, err)
				}
				lat = append(lat, time.Duration(time.Now().UnixNano()-int64(binary.LittleEndian.Uint64(buf))))
			}
			b.StopTimer()
			reportPercentiles(b, lat)
		})
	}
}

// BenchmarkThroughput streams 64-byte messages through the path as fast
// as it takes them; ns/op is the time per message.
func BenchmarkThroughput(b *testing.B) {
	for _, mode := range []bridge.Mode{bridge.Core, bridge.JetStream} {
		b.Run(string(mode), func(b *testing.B) {
			bp := newBenchPath(b, mode)
			ctx := context.Background()
			done := make(chan error, 1)
			b.ResetTimer()
			go func() {
				msg := make([]byte, 64)
				for range b.N {
					if _, err := bp.p.Send(ctx, 1, msg); err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
			buf := make([]byte, 256)
			for range b.N {
				if _, _, err := bp.final.Recv(ctx, buf); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkFabricRound measures a fabric round (Scheduler.Call, then
// Gather) with one rank: "local" is a worker in this host's shared memory,
// "remote" the same rank behind NATS (a proxy worker whose handler is
// RemoteHandler, the remote rank served by ServeRemote), so the two sit
// side by side. Everything runs in this process, on goroutines.
func BenchmarkFabricRound(b *testing.B) {
	srv := runServer(b, b.TempDir(), -1)
	s, err := fabric.NewScheduler(fabric.Config{Session: ring.PortableName("bfr"), Workers: 2})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	var served sync.WaitGroup // the workers close once Serve returned
	b.Cleanup(func() {
		cancel()
		served.Wait()
	})
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	subject := "bench.fabric." + s.Layout().Dispatch()
	echo := func(_ context.Context, req, reply []byte) ([]byte, error) { return append(reply, req...), nil }
	remote := make(chan struct{})
	go bridge.ServeRemote(ctx, nc, subject, echo, func() { close(remote) })
	<-remote
	for rank, h := range []fabric.Handler{echo, bridge.RemoteHandler(nc, subject, 10*time.Second)} {
		rc, err := s.Layout().Runner(rank)
		if err != nil {
			b.Fatal(err)
		}
		w, err := fabric.NewWorker(ctx, rc)
		if err != nil {
			b.Fatal(err)
		}
		served.Go(func() {
			w.Serve(ctx, h)
			w.Close()
		})
	}
	if err := s.Rendezvous(ctx); err != nil {
		b.Fatal(err)
	}
	req := make([]byte, 64)
	for rank, name := range []string{"local", "remote"} {
		b.Run(name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for range b.N {
				start := time.Now()
				r, err := s.Call(ctx, rank, req)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := r.Gather(ctx); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			reportPercentiles(b, lat)
		})
	}
}

// reportPercentiles reports p50, p99 and p99.9 of lat in ns.
func reportPercentiles(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	at := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Nanoseconds()) }
	b.ReportMetric(at(0.50), "p50-ns")
	b.ReportMetric(at(0.99), "p99-ns")
	b.ReportMetric(at(0.999), "p99.9-ns")
}
