package frame

// Benchmarks. Legend: "raw" is a plain byte ring (ring.BytesProducer /
// BytesConsumer) carrying the same bytes without framing; "framed" is this
// package; "copy" is a plain copy of the same size in the same process.
// Both sides of a comparison run in the same benchmark, on the same
// machine, interleaved, so the difference is the framing.

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/myelon-go/myelon/internal/childtest"
	"github.com/myelon-go/myelon/ring"
)

const pingSize = 64

// pingVariant is one kind of round trip in BenchmarkPingPong64.
type pingVariant struct {
	name   string
	framed bool
	slot   int // raw: slot size; framed: payload capacity
	msg    int // bytes sent
}

// pingVariants: raw is the reference; raw-96 carries the same 96 bytes a
// framed 64-byte message occupies (header + payload), so it separates the
// cost of the bigger cache footprint from the cost of the framing code.
var pingVariants = []pingVariant{
	{"raw", false, pingSize, pingSize},
	{"framed", true, pingSize, pingSize},
	{"raw-96", false, HeaderSize + pingSize, HeaderSize + pingSize},
}

// pingEnd is one process's side of a variant: where it sends and where it
// receives.
type pingEnd struct {
	v       pingVariant
	rawOut  *ring.BytesProducer
	rawIn   *ring.BytesConsumer
	out     *Producer
	in      *Consumer
	buf     []byte
	closers []func() error
}

func (e *pingEnd) create(name string, spin ring.WaitStrategy) error {
	if e.v.framed {
		p, err := Create(name, Config{PayloadCapacity: e.v.slot, Capacity: 64, Wait: spin})
		e.out = p
		if err == nil {
			e.closers = append(e.closers, p.Close)
		}
		return err
	}
	p, err := ring.CreateBytes(name, ring.Config{SlotSize: e.v.slot, Capacity: 64, Wait: spin})
	e.rawOut = p
	if err == nil {
		e.closers = append(e.closers, p.Close)
	}
	return err
}

func (e *pingEnd) attach(name string, spin ring.WaitStrategy) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if e.v.framed {
		c, err := Attach(ctx, name, ConsumerConfig{Wait: spin})
		e.in = c
		if err == nil {
			e.closers = append(e.closers, c.Close)
		}
		return err
	}
	c, err := ring.AttachBytes(ctx, name, ring.ConsumerConfig{Wait: spin})
	e.rawIn = c
	if err == nil {
		e.closers = append(e.closers, c.Close)
	}
	return err
}

func (e *pingEnd) waitPeer(ctx context.Context) error {
	if e.v.framed {
		return e.out.WaitForConsumers(ctx, 1, "")
	}
	return e.rawOut.WaitForConsumers(ctx, 1, "")
}

func (e *pingEnd) send(ctx context.Context, b []byte) error {
	if e.v.framed {
		_, err := e.out.Send(ctx, 1, b)
		return err
	}
	_, err := e.rawOut.Send(ctx, b)
	return err
}

func (e *pingEnd) recv(ctx context.Context) error {
	if e.v.framed {
		_, _, err := e.in.Recv(ctx, e.buf)
		return err
	}
	_, err := e.rawIn.Recv(ctx, e.buf)
	return err
}

func (e *pingEnd) close() {
	for _, f := range slices.Backward(e.closers) {
		f()
	}
	e.closers = nil
}

// BenchmarkPingPong64 measures the round trip of a 64-byte message between
// two processes (this one and an echo child): on every iteration one raw
// byte-ring round trip and one framed round trip (and one raw round trip of
// 96 bytes, the framed message's footprint), interleaved so load on the
// machine hits all alike. It reports p50 and p99 of each and the framing
// overhead at p50. Both sides busy-spin.
func BenchmarkPingPong64(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	spin := ring.BusySpin
	var names []string
	ends := make([]*pingEnd, len(pingVariants))
	for i, v := range pingVariants {
		names = append(names, ring.PortableName("pp"), ring.PortableName("pq"))
		ends[i] = &pingEnd{v: v, buf: make([]byte, v.msg)}
		if err := ends[i].create(names[2*i], spin); err != nil {
			b.Fatal(err)
		}
	}
	echo := echoRole.Start(b, names, childtest.Options{Life: 5 * time.Minute, Timeout: 5 * time.Minute})
	defer func() {
		for _, e := range ends {
			e.close()
		}
		if err := echo.Exit(); err != nil {
			b.Errorf("echo child: %v\n%s", err, echo.Output())
		}
	}()
	for i, e := range ends {
		if err := e.attach(names[2*i+1], spin); err != nil {
			b.Fatal(err)
		}
		if err := e.waitPeer(ctx); err != nil {
			b.Fatal(err)
		}
	}
	msgs := make([][]byte, len(ends))
	for i, e := range ends {
		msgs[i] = payloadFor(uint64(i), e.v.msg)
	}
	trip := func(i int) {
		if err := ends[i].send(ctx, msgs[i]); err != nil {
			b.Fatal(err)
		}
		if err := ends[i].recv(ctx); err != nil {
			b.Fatal(err)
		}
	}
	for range 20000 { // warm up every path and the caches
		for i := range ends {
			trip(i)
		}
	}
	ns := make([][]int64, len(ends))
	for i := range ns {
		ns[i] = make([]int64, 0, 1<<20)
	}
	for b.Loop() {
		for i := range ends {
			t0 := time.Now()
			trip(i)
			ns[i] = append(ns[i], int64(time.Since(t0)))
		}
	}
	b.StopTimer()
	p50 := make([]float64, len(ends))
	for i, e := range ends {
		s := ns[i]
		slices.Sort(s)
		p50[i] = float64(s[(len(s)-1)/2])
		b.ReportMetric(p50[i], e.v.name+"-p50-ns")
		b.ReportMetric(float64(s[(len(s)-1)*99/100]), e.v.name+"-p99-ns")
	}
	b.ReportMetric(p50[1]-p50[0], "overhead-p50-ns")
}

var echoRole = childtest.Register("frame.echo", echo)

// echo is the echo child of BenchmarkPingPong64: for each variant it
// attaches to names[2i] and creates names[2i+1], and sends back what it
// receives until the benchmark closes its rings.
func echo(t *testing.T, _ *childtest.Child, names []string) {
	ctx := context.Background()
	spin := ring.BusySpin
	ends := make([]*pingEnd, len(pingVariants))
	for i, v := range pingVariants {
		ends[i] = &pingEnd{v: v, buf: make([]byte, v.msg)}
		defer ends[i].close()
		if err := ends[i].attach(names[2*i], spin); err != nil {
			t.Fatal(err)
		}
		if err := ends[i].create(names[2*i+1], spin); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range ends {
		if err := e.waitPeer(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for {
		for _, e := range ends {
			if e.v.framed {
				// Echo in place, from the ring slot.
				err := e.in.Read(ctx, func(m Meta, p []byte) error {
					_, err := e.out.Send(ctx, m.Kind, p)
					return err
				})
				if err != nil {
					return // the benchmark closed its rings
				}
				continue
			}
			if err := e.recv(ctx); err != nil {
				return
			}
			if err := e.send(ctx, e.buf); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// BenchmarkThroughput streams messages of 64 KiB and 1 MiB from a producer
// goroutine to a consumer (Recv into a caller buffer: one copy on each
// side, in parallel) over an shm ring of 64 KiB frames, beside a plain copy
// of the same size.
func BenchmarkThroughput(b *testing.B) {
	for _, size := range []int{64 << 10, 1 << 20} {
		label := "64KiB"
		if size == 1<<20 {
			label = "1MiB"
		}
		b.Run("copy/"+label, func(b *testing.B) {
			src, dst := payloadFor(1, size), make([]byte, size)
			b.SetBytes(int64(size))
			for b.Loop() {
				copy(dst, src)
			}
		})
		b.Run("framed/"+label, func(b *testing.B) {
			name := ring.PortableName("tp")
			p, err := Create(name, Config{PayloadCapacity: 64 << 10, MaxMessageSize: 1 << 20, Capacity: 64})
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			c, err := Attach(context.Background(), name, ConsumerConfig{})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				src := payloadFor(2, size)
				for ctx.Err() == nil {
					if _, err := p.Send(ctx, 0, src); err != nil && ctx.Err() == nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
			dst := make([]byte, size)
			b.SetBytes(int64(size))
			for b.Loop() {
				if n, _, err := c.Recv(ctx, dst); err != nil || n != size {
					b.Fatal(n, err)
				}
			}
			b.StopTimer()
			cancel()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkSendRecv64_InProcess is the CPU cost of one 64-byte message
// through each layer, one goroutine, no cross-core traffic: raw byte ring
// Publish+Next against framed Send+Recv and Send+Read. The _guarded
// variants run under the truncation guard (TruncationGuard).
func BenchmarkSendRecv64_InProcess(b *testing.B) {
	benchSendRecv64(b, "", false)
	benchSendRecv64(b, "_guarded", true)
}

func benchSendRecv64(b *testing.B, suffix string, guard bool) {
	ctx := context.Background()
	msg := payloadFor(1, pingSize)
	dst := make([]byte, pingSize)
	b.Run("raw"+suffix, func(b *testing.B) {
		name := heapName(b)
		p, err := ring.CreateBytes(name, ring.Config{Backend: ring.Heap, SlotSize: pingSize, Capacity: 64, TruncationGuard: guard})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		c, err := ring.AttachBytes(context.Background(), name, ring.ConsumerConfig{Backend: ring.Heap, TruncationGuard: guard})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		for b.Loop() {
			p.Send(ctx, msg)
			c.Recv(ctx, dst)
		}
	})
	b.Run("framed/Recv"+suffix, func(b *testing.B) {
		p, c := heapPair(b, Config{PayloadCapacity: pingSize, Capacity: 64, TruncationGuard: guard}, ConsumerConfig{TruncationGuard: guard})
		for b.Loop() {
			p.Send(ctx, 1, msg)
			c.Recv(ctx, dst)
		}
	})
	b.Run("framed/Read"+suffix, func(b *testing.B) {
		p, c := heapPair(b, Config{PayloadCapacity: pingSize, Capacity: 64, TruncationGuard: guard}, ConsumerConfig{TruncationGuard: guard})
		n := 0
		fn := func(m Meta, p []byte) error { n += len(p); return nil }
		for b.Loop() {
			p.Send(ctx, 1, msg)
			c.Read(ctx, fn)
		}
	})
}
