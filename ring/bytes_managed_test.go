package ring

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

func TestBytes_JoinProducerAndManagedClaim(t *testing.T) {
	name := PortableName("bmp")
	owner, err := CreateBytes(name, Config{Backend: Heap, Capacity: 8, SlotSize: 16, MaxProducers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	if err := owner.Require(RequiredConfig{IDs: []string{"r"}, StartupTimeout: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := owner.Claim(ctx, 1); !errors.Is(err, ErrStartupTimeout) {
		t.Fatalf("managed claim without the required consumer: %v, want ErrStartupTimeout", err)
	}
	c, err := AttachBytes(context.Background(), name, ConsumerConfig{Backend: Heap, ID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	joined, err := JoinBytes(context.Background(), name, JoinConfig{Backend: Heap})
	if err != nil {
		t.Fatal(err)
	}
	defer joined.Close()
	// The owner's claims are managed (Require), the joined producer's are
	// plain.
	put := func(p *BytesProducer, v uint64) {
		t.Helper()
		seq, err := p.Claim(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		binary.LittleEndian.PutUint64(p.Slot(seq), v)
		p.Commit()
	}
	put(owner, 1)
	put(joined, 2)
	put(owner, 3)
	for _, want := range []uint64{1, 2, 3} {
		lo, _, err := c.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := binary.LittleEndian.Uint64(c.Slot(lo)); got != want {
			t.Fatalf("got %d, want %d", got, want)
		}
		c.ReleaseThrough(lo)
	}
	if _, err := JoinBytes(context.Background(), name, JoinConfig{Backend: Heap}); !errors.Is(err, ErrNoFreeProducer) {
		t.Fatalf("third producer on a 2-producer ring: %v, want ErrNoFreeProducer", err)
	}
}
