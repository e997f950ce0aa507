package layers

import (
	"context"
	"testing"

	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
	"github.com/myelon-go/myelon/typed"
)

// event64 is one 64-byte event, as ring's BenchmarkPublish publishes.
type event64 struct {
	Seq  int64
	Data [7]int64
}

// BenchmarkPaths runs each layer's publish path, alone and followed by the
// consume path, in one goroutine on a shm ring: nothing waits and nothing
// crosses cores, so the instruction count per event is exact and repeats
// under callgrind (see docs/results.md), and the difference between the
// two is the consume path. "batch64" publishes 64 events and then consumes
// them in one batch (one commit), reported per event.
//
//	go test -c -o x.test ./bench/layers/
//	GOGC=off GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//	    ./x.test -test.run '^$' -test.bench 'Paths/ring/publish$' -test.benchtime 200000x
func BenchmarkPaths(b *testing.B) {
	ctx := context.Background()
	b.Run("ring/publish", func(b *testing.B) {
		p := ringOf(b, 0)
		for i := range b.N {
			if _, err := p.Publish(ctx, func(e *event64) { e.Seq = int64(i) }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ring/publish+process", func(b *testing.B) {
		p := ringOf(b, 1)
		c := attachRing(b, p)
		for i := range b.N {
			if _, err := p.Publish(ctx, func(e *event64) { e.Seq = int64(i) }); err != nil {
				b.Fatal(err)
			}
			if _, err := c.TryProcess(0, func(e *event64, _ int64, _ bool) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ring/batch64", func(b *testing.B) {
		p := ringOf(b, 1)
		c := attachRing(b, p)
		for i := 0; i < b.N; i += 64 {
			k := min(64, b.N-i)
			if _, err := p.PublishBatch(ctx, k, func(j int, e *event64) { e.Seq = int64(i + j) }); err != nil {
				b.Fatal(err)
			}
			if _, err := c.TryProcess(0, func(e *event64, _ int64, _ bool) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
	msg := make([]byte, 64)
	b.Run("framed/send", func(b *testing.B) {
		p, _ := framedOf(b, false)
		for range b.N {
			if _, err := p.Send(ctx, 0, msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("framed/send+process", func(b *testing.B) {
		p, c := framedOf(b, true)
		for range b.N {
			if _, err := p.Send(ctx, 0, msg); err != nil {
				b.Fatal(err)
			}
			if _, err := c.TryProcess(0, func(frame.Meta, []byte) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
	m := &echoMsg{Data: make([]byte, 64)}
	b.Run("typed/send", func(b *testing.B) {
		p, _ := typedOf(b, false)
		for range b.N {
			if _, err := p.Send(ctx, m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("typed/send+recv", func(b *testing.B) {
		p, c := typedOf(b, true)
		var in echoMsg
		for range b.N {
			if _, err := p.Send(ctx, m); err != nil {
				b.Fatal(err)
			}
			if _, err := c.TryRecv(&in); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func ringOf(b *testing.B, consumers int) *ring.Producer[event64] {
	p, err := ring.Create[event64](ring.PortableName("bpath"), ring.Config{Capacity: 1024, Wait: ring.BusySpin, Populate: true, MaxConsumers: max(consumers, 1)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	return p
}

func attachRing(b *testing.B, p *ring.Producer[event64]) *ring.Consumer[event64] {
	c, err := ring.Attach[event64](context.Background(), p.Info().Name, ring.ConsumerConfig{Wait: ring.BusySpin})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

func framedOf(b *testing.B, consumer bool) (*frame.Producer, *frame.Consumer) {
	name := ring.PortableName("fpath")
	p, err := frame.Create(name, frame.Config{Capacity: 1024, Wait: ring.BusySpin, Populate: true, PayloadCapacity: frameCapacityFor(64)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	if !consumer {
		return p, nil
	}
	c, err := frame.Attach(context.Background(), name, frame.ConsumerConfig{Wait: ring.BusySpin, PayloadCapacity: frameCapacityFor(64)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return p, c
}

func typedOf(b *testing.B, consumer bool) (*typed.Producer[echoMsg], *typed.Consumer[echoMsg]) {
	name := ring.PortableName("tpath")
	cfg := typed.Config{Capacity: 1024, Wait: ring.BusySpin, Populate: true, PayloadCapacity: frameCapacityFor(64 + echoOverhead)}
	p, err := typed.Create(name, echoCodec(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	if !consumer {
		return p, nil
	}
	c, err := typed.Attach(context.Background(), name, echoCodec(), typed.ConsumerConfig{Wait: ring.BusySpin, PayloadCapacity: cfg.PayloadCapacity})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return p, c
}
