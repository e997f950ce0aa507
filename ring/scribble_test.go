package ring

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/myelon-go/myelon/internal/shm"
)

// TestScribble_LiveSegment has a peer write garbage over the shared words
// of a live shm ring (producer block, consumer table, counters; not the
// slots, whose contents are the application's) while a producer and a
// consumer run. Neither may panic or hang: every call returns within its
// context, and every error is one of the ring's typed errors or the
// context's.
func TestScribble_LiveSegment(t *testing.T) {
	name := PortableName("scrib")
	p, err := Create[testEvent](name, Config{Capacity: 64, LivenessInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := Attach[testEvent](context.Background(), name, ConsumerConfig{ID: "victim", LivenessInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m, err := shm.Open(shm.Shm, name, shm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	_, r, err := validateHeader(m.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	mem := m.Bytes()[r.producer:r.slots] // producer block .. counters (and markers)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop); wg.Wait() }) }
	defer halt() // before the mapping is closed, even when the test fails
	wg.Add(1)
	go func() { // the scribbler
		defer wg.Done()
		rng := rand.New(rand.NewPCG(1, 2))
		for {
			select {
			case <-stop:
				return
			default:
			}
			for k := 0; k < 16; k++ {
				off := rng.IntN(len(mem)/8) * 8
				v := rng.Uint64()
				if rng.IntN(4) == 0 {
					v = uint64(rng.Int64N(1<<20)) - 1<<19 // small, plausible-looking values too
				}
				for b := 0; b < 8; b++ {
					mem[off+b] = byte(v >> (8 * b))
				}
			}
			time.Sleep(50 * time.Microsecond)
		}
	}()
	typed := func(err error) bool {
		for _, e := range []error{ErrLapped, ErrCorrupt, ErrEvicted, ErrEndOfStream, ErrProducerGone, ErrFull, ErrEmpty, context.DeadlineExceeded} {
			if errors.Is(err, e) {
				return true
			}
		}
		return false
	}
	deadline := time.Now().Add(time.Second)
	var reads, pubs, errs int
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		if _, err := p.Publish(ctx, fill(int64(pubs))); err != nil {
			if !typed(err) {
				t.Fatalf("publish: untyped error %v", err)
			}
			errs++
		} else {
			pubs++
		}
		if _, err := c.Recv(ctx); err != nil {
			if !typed(err) {
				t.Fatalf("next: untyped error %v", err)
			}
			errs++
		} else {
			reads++
		}
		cancel()
	}
	halt()
	t.Logf("under scribbling: %d publishes, %d reads, %d typed errors", pubs, reads, errs)
	if pubs == 0 {
		t.Fatal("the producer made no progress at all")
	}
}
