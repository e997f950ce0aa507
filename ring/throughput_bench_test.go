package ring

import (
	"context"
	"sync"
	"testing"
	"time"
)

// BenchmarkThroughput streams b.N 64-byte events through a shm ring to one
// consumer, from one producer (SPSC) and from two (MPSC), in the same run,
// and reports events per second. Goroutines in one process: the ring code
// is the same as across processes. The machine has two cores, so MPSC runs
// three busy goroutines on two cores and everyone waits with Yield.
//
//	go test -run '^$' -bench Throughput -benchtime 2000000x ./ring/
func BenchmarkThroughput(b *testing.B) {
	for _, tc := range []struct {
		name      string
		producers int
	}{{"SPSC", 1}, {"MPSC-2P", 2}} {
		b.Run(tc.name, func(b *testing.B) { benchThroughput(b, tc.producers) })
	}
}

func benchThroughput(b *testing.B, producers int) {
	name := PortableName("thr")
	cfg := Config{Capacity: 4096, Wait: Yield, Populate: true}
	if producers > 1 {
		cfg.MaxProducers = producers
	}
	owner, err := Create[testEvent](name, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer owner.Close()
	c, err := Attach[testEvent](context.Background(), name, ConsumerConfig{Wait: Yield})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ps := []*Producer[testEvent]{owner}
	for i := 1; i < producers; i++ {
		p, err := Join[testEvent](context.Background(), name, JoinConfig{Wait: Yield})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		ps = append(ps, p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	per := b.N / producers
	total := per * producers
	b.SetBytes(int64(len(testEvent{}.Pad)*8 + 16))
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				if _, err := p.Publish(ctx, func(e *testEvent) { e.Seq = int64(i) }); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	for got := 0; got < total; {
		n, err := c.Process(ctx, 0, func(*testEvent, int64, bool) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		got += n
	}
	b.StopTimer()
	wg.Wait()
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "events/s")
}
