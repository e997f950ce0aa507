package ring

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/myelon-go/myelon/internal/shm"
)

func TestAttach_StartAtFutureSequenceWaitsForIt(t *testing.T) {
	name := PortableName("fut")
	p, err := Create[testEvent](name, Config{Backend: Heap, Capacity: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := Attach[testEvent](context.Background(), name, ConsumerConfig{Backend: Heap, Start: StartAt(5)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := int64(0); i < 10; i++ {
		if _, err := p.Publish(ctx, fill(i)); err != nil {
			t.Fatal(err)
		}
	}
	for want := int64(5); want < 10; want++ {
		ev, err := c.Recv(ctx)
		if err != nil || ev.Seq != want {
			t.Fatalf("got %+v, %v; want seq %d", ev, err, want)
		}
	}
}

// The fingerprint is structural: a consumer may declare the event under
// another type name, as long as layout and field names agree.
func TestAttach_SameLayoutOtherTypeNameAccepted(t *testing.T) {
	type producerSide struct{ Seq, Check int64 }
	type consumerSide struct{ Seq, Check int64 }
	name := PortableName("alias")
	p, err := Create[producerSide](name, Config{Backend: Heap, Capacity: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := Attach[consumerSide](context.Background(), name, ConsumerConfig{Backend: Heap})
	if err != nil {
		t.Fatalf("attach with an identically laid out type: %v", err)
	}
	c.Close()
}

func TestHandles_StatsAfterCloseKeepLastSnapshot(t *testing.T) {
	name := PortableName("final")
	p, err := Create[testEvent](name, Config{Capacity: 8})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Attach[testEvent](context.Background(), name, ConsumerConfig{ID: "last"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Publish(context.Background(), fill(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TryRecv(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	p.Close()
	if st := p.Stats(); st.State != "closed" || st.Published != 1 || p.Info().Capacity != 8 {
		t.Fatalf("producer after Close: %+v", st)
	}
	if st := c.Stats(); st.Published != 1 || c.Info().Name != name {
		t.Fatalf("consumer after Close: %+v", st)
	}
}

func TestAttach_StartAtNegativeIsInvalid(t *testing.T) {
	name := PortableName("neg")
	p, err := Create[testEvent](name, Config{Backend: Heap, Capacity: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := Attach[testEvent](context.Background(), name, ConsumerConfig{Backend: Heap, Start: StartAt(-5)}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("StartAt(-5): %v, want ErrInvalidConfig", err)
	}
}

func TestDiscovery_AfterCloseIsSafe(t *testing.T) {
	name := PortableName("shut")
	p, err := Create[testEvent](name, Config{Capacity: 8})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	if ids := p.ConsumerIDs(""); ids != nil {
		t.Fatalf("ConsumerIDs after Close: %v", ids)
	}
	if _, ok := p.ConsumerPosition("x"); ok {
		t.Fatal("ConsumerPosition after Close found an id")
	}
	if err := p.WaitForConsumers(context.Background(), 1, ""); !errors.Is(err, ErrClosed) {
		t.Fatalf("WaitForConsumers after Close: %v, want ErrClosed", err)
	}
}

// A creator that died before sizing its segment leaves an empty file: it
// is stale (its owner lock is gone) and can be reclaimed, not "being
// created" forever.
func TestCreate_EmptyFileOfDeadCreatorIsStale(t *testing.T) {
	name := PortableName("empty")
	path := shm.Path(Shm, name)
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(path)
	if _, err := Create[testEvent](name, Config{Capacity: 8, KeepStale: true}); !errors.Is(err, ErrStale) {
		t.Fatalf("Create with KeepStale over an empty file nobody holds: %v, want ErrStale", err)
	}
	p, err := Create[testEvent](name, Config{Capacity: 8})
	if err != nil {
		t.Fatalf("Create over an empty file nobody holds: %v", err)
	}
	p.Close()
}

// TestCreate_ConcurrentReplaceOfStale: several producers replacing the same
// dead owner's segment at once (a supervisor that started two instances)
// end with exactly one owner, whose segment is the one under the name:
// none of them removes another's brand-new segment.
func TestCreate_ConcurrentReplaceOfStale(t *testing.T) {
	const rounds, racers = 40, 6
	for round := range rounds {
		name := PortableName("race")
		path := shm.Path(Shm, name)
		// A stale segment: a creator died before it sized the file.
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners []*Producer[testEvent]
		)
		start := make(chan struct{})
		for range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				p, err := Create[testEvent](name, Config{Capacity: 8})
				if err != nil {
					if !errors.Is(err, ErrExist) {
						t.Errorf("round %d: Create lost the race with %v, want ErrExist", round, err)
					}
					return
				}
				mu.Lock()
				winners = append(winners, p)
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
		if len(winners) != 1 {
			for _, p := range winners {
				p.Close()
			}
			os.Remove(path)
			t.Fatalf("round %d: %d producers own the name, want exactly 1", round, len(winners))
		}
		info, _, err := Inspect(Shm, name)
		if err != nil || info.Epoch != winners[0].Info().Epoch {
			t.Fatalf("round %d: the segment under the name (epoch %d, %v) is not the winner's (%d)", round, info.Epoch, err, winners[0].Info().Epoch)
		}
		winners[0].Close()
	}
}

// TestCreate_JoinedProducerKeepsRingAlive: a multi-producer ring whose
// creator died is not replaced while a producer that joined it lives; it
// is once that one is gone too.
func TestCreate_JoinedProducerKeepsRingAlive(t *testing.T) {
	name := PortableName("joinalive")
	creator, err := Create[testEvent](name, Config{Backend: Heap, Capacity: 8, MaxProducers: 2})
	if err != nil {
		t.Fatal(err)
	}
	joined, err := Join[testEvent](context.Background(), name, JoinConfig{Backend: Heap})
	if err != nil {
		t.Fatal(err)
	}
	// The creator "dies": its locks are gone (owner, producer table entry).
	creator.p.s.m.Unlock(lockProducer)
	creator.p.s.m.Unlock(lockProducers + int64(creator.p.slot))
	if _, err := Create[testEvent](name, Config{Backend: Heap, Capacity: 8}); !errors.Is(err, ErrExist) {
		t.Fatalf("Create over a ring a joined producer still writes: %v, want ErrExist", err)
	}
	joined.Close()
	p, err := Create[testEvent](name, Config{Backend: Heap, Capacity: 8})
	if err != nil {
		t.Fatalf("Create once every producer is gone: %v", err)
	}
	p.Close()
}
