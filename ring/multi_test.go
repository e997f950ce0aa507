package ring

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

type mpEvent struct {
	Producer int64
	Seq      int64
	Check    int64
}

// TestMulti_Heap_ThreeProducersTwoConsumers checks, in one process under
// -race, that every event of 3 producers reaches each of 2 consumers
// exactly once and each producer's events arrive in order.
func TestMulti_Heap_ThreeProducersTwoConsumers(t *testing.T) {
	const producers, perProducer = 3, 20000
	name := PortableName("mp")
	owner, err := Create[mpEvent](name, Config{Backend: Heap, Capacity: 64, MaxProducers: 4})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var cons [2]*Consumer[mpEvent]
	for i := range cons {
		if cons[i], err = Attach[mpEvent](context.Background(), name, ConsumerConfig{Backend: Heap}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for id := 0; id < producers; id++ {
		p := owner
		if id > 0 {
			if p, err = Join[mpEvent](context.Background(), name, JoinConfig{Backend: Heap}); err != nil {
				t.Fatal(err)
			}
		}
		wg.Add(1)
		go func(id int64, p *Producer[mpEvent]) {
			defer wg.Done()
			for i := int64(0); i < perProducer; i++ {
				if _, err := p.Publish(ctx, func(e *mpEvent) { e.Producer, e.Seq, e.Check = id, i, id*1e9+i }); err != nil {
					errs <- err
					return
				}
			}
			if id > 0 {
				p.Close()
			}
		}(int64(id), p)
	}
	var cwg sync.WaitGroup
	for ci, c := range cons {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			var next [producers]int64
			for n := 0; n < producers*perProducer; n++ {
				e, err := c.Recv(ctx)
				if err != nil {
					errs <- err
					return
				}
				if e.Producer < 0 || e.Producer >= producers || e.Seq != next[e.Producer] || e.Check != e.Producer*1e9+e.Seq {
					errs <- errors.New("consumer " + string(rune('0'+ci)) + ": out of order or corrupt event")
					return
				}
				next[e.Producer]++
			}
		}()
	}
	wg.Wait()
	cwg.Wait()
	owner.Close()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, c := range cons {
		if _, err := c.Recv(ctx); !errors.Is(err, ErrEndOfStream) {
			t.Fatalf("after all events: %v, want ErrEndOfStream", err)
		}
		c.Close()
	}
}
