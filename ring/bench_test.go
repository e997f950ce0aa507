package ring

// In-process benchmarks. Legend: SP = the single producer, SC = one
// consumer goroutine; the wait strategy names the side that waits. The
// cross-process round trip and its raw-atomic reference are in
// pingpong_test.go. Run with
//
//	go test -run XXX -bench . ./ring/

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"unsafe"
)

// benchEvent is one 64-byte cache line.
type benchEvent struct {
	Seq  int64
	Data [7]int64
}

const benchEventSize = int64(unsafe.Sizeof(benchEvent{}))

func benchRing(b *testing.B, capacity int, w WaitStrategy, consumers int) (*Producer[benchEvent], []*Consumer[benchEvent]) {
	return benchRingConfig(b, Config{Capacity: capacity, Wait: w, Populate: true}, consumers)
}

func benchRingConfig(b *testing.B, cfg Config, consumers int) (*Producer[benchEvent], []*Consumer[benchEvent]) {
	b.Helper()
	name := PortableName("bench")
	w := cfg.Wait
	p, err := Create[benchEvent](name, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	var cs []*Consumer[benchEvent]
	for i := 0; i < consumers; i++ {
		c, err := Attach[benchEvent](context.Background(), name, ConsumerConfig{Wait: w, TruncationGuard: cfg.TruncationGuard})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		cs = append(cs, c)
	}
	return p, cs
}

// drain reads n events with Process (one commit per batch) and reports the
// first error or sequence gap.
func drain(c *Consumer[benchEvent], n int64, done chan<- error) {
	ctx := context.Background()
	next := int64(0)
	for next < n {
		_, err := c.Process(ctx, 0, func(ev *benchEvent, seq int64, _ bool) error {
			if ev.Seq != next {
				return errors.New("bench: out of order event " + strconv.FormatInt(ev.Seq, 10))
			}
			next++
			return nil
		})
		if err != nil {
			done <- err
			return
		}
	}
	done <- nil
}

// BenchmarkPublish: one event per Publish, on the Shm backend. The
// _guarded variant runs every call under the truncation guard
// (Config.TruncationGuard): the difference is what the guard costs.
func BenchmarkPublish(b *testing.B) {
	for _, guard := range []bool{false, true} {
		name := "SP_no_consumer"
		if guard {
			name += "_guarded"
		}
		b.Run(name, func(b *testing.B) {
			p, _ := benchRingConfig(b, Config{Capacity: 1024, Wait: Block, Populate: true, TruncationGuard: guard}, 0)
			b.SetBytes(benchEventSize)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p.Publish(context.Background(), func(e *benchEvent) { e.Seq = int64(i) })
			}
		})
	}
	for _, w := range []WaitStrategy{BusySpin, Block} {
		b.Run("SPSC_"+w.String(), func(b *testing.B) {
			p, cs := benchRing(b, 1024, w, 1)
			done := make(chan error, 1)
			b.SetBytes(benchEventSize)
			b.ReportAllocs()
			b.ResetTimer()
			go drain(cs[0], int64(b.N), done)
			for i := 0; i < b.N; i++ {
				if _, err := p.Publish(context.Background(), func(e *benchEvent) { e.Seq = int64(i) }); err != nil {
					b.Fatal(err)
				}
			}
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkPublishBatch: events published n at a time, one cursor store per
// batch; reported per event.
func BenchmarkPublishBatch(b *testing.B) {
	for _, n := range []int{16, 128} {
		b.Run("SP_no_consumer/batch="+strconv.Itoa(n), func(b *testing.B) {
			p, _ := benchRing(b, 1024, Block, 0)
			b.SetBytes(benchEventSize)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += n {
				k := min(n, b.N-i)
				p.PublishBatch(context.Background(), k, func(j int, e *benchEvent) { e.Seq = int64(i + j) })
			}
		})
		b.Run("SPSC_spin/batch="+strconv.Itoa(n), func(b *testing.B) {
			p, cs := benchRing(b, 1024, BusySpin, 1)
			done := make(chan error, 1)
			b.SetBytes(benchEventSize)
			b.ReportAllocs()
			b.ResetTimer()
			go drain(cs[0], int64(b.N), done)
			for i := 0; i < b.N; i += n {
				k := min(n, b.N-i)
				if _, err := p.PublishBatch(context.Background(), k, func(j int, e *benchEvent) { e.Seq = int64(i + j) }); err != nil {
					b.Fatal(err)
				}
			}
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkConsume: the consumer side, per event, with a producer goroutine
// publishing in batches of 64 so it is rarely the bottleneck.
func BenchmarkConsume(b *testing.B) {
	modes := []struct {
		name string
		read func(b *testing.B, c *Consumer[benchEvent], n int64)
	}{
		{"Next", func(b *testing.B, c *Consumer[benchEvent], n int64) {
			ctx := context.Background()
			for i := int64(0); i < n; i++ {
				ev, err := c.Recv(ctx)
				if err != nil || ev.Seq != i {
					b.Fatal(ev.Seq, err)
				}
			}
		}},
		{"Read", func(b *testing.B, c *Consumer[benchEvent], n int64) {
			ctx := context.Background()
			var got int64
			read := func(ev *benchEvent, _ int64) error { got = ev.Seq; return nil }
			for i := int64(0); i < n; i++ {
				if err := c.Read(ctx, read); err != nil || got != i {
					b.Fatal(got, err)
				}
			}
		}},
		{"Process", func(b *testing.B, c *Consumer[benchEvent], n int64) {
			done := make(chan error, 1)
			drain(c, n, done)
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		}},
	}
	for _, m := range modes {
		b.Run(m.name+"_spin", func(b *testing.B) {
			p, cs := benchRing(b, 1024, BusySpin, 1)
			perr := make(chan error, 1)
			b.SetBytes(benchEventSize)
			b.ReportAllocs()
			b.ResetTimer()
			go func() {
				for i := 0; i < b.N; i += 64 {
					k := min(64, b.N-i)
					if _, err := p.PublishBatch(context.Background(), k, func(j int, e *benchEvent) { e.Seq = int64(i + j) }); err != nil {
						perr <- err
						return
					}
				}
				perr <- nil
			}()
			m.read(b, cs[0], int64(b.N))
			if err := <-perr; err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkSendRecv is one Send and one Recv (or Read) in one goroutine on
// a heap ring: the CPU cost of the ring's fast paths, without the
// cross-core hand-off that dominates a ping-pong between processes.
// Instruction counts under callgrind judge a fast-path change. The
// _guarded variants run under the truncation guard (TruncationGuard).
func BenchmarkSendRecv(b *testing.B) {
	benchSendRecv(b, "", false)
	benchSendRecv(b, "_guarded", true)
}

func benchSendRecv(b *testing.B, suffix string, guard bool) {
	name := PortableName("bsr")
	p, err := Create[benchEvent](name, Config{Backend: Heap, Capacity: 64, TruncationGuard: guard})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	c, err := Attach[benchEvent](context.Background(), name, ConsumerConfig{Backend: Heap, TruncationGuard: guard})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	ev := &benchEvent{}
	var got int64
	read := func(e *benchEvent, _ int64) error { got = e.Seq; return nil }
	b.Run("Send+Recv"+suffix, func(b *testing.B) {
		for b.Loop() {
			ev.Seq++
			p.Send(ctx, ev)
			if e, err := c.Recv(ctx); err != nil || e.Seq != ev.Seq {
				b.Fatal(e.Seq, err)
			}
		}
	})
	b.Run("Publish+Read"+suffix, func(b *testing.B) {
		fill := func(e *benchEvent) { e.Seq = ev.Seq }
		for b.Loop() {
			ev.Seq++
			p.Publish(ctx, fill)
			if err := c.Read(ctx, read); err != nil || got != ev.Seq {
				b.Fatal(got, err)
			}
		}
	})
}
