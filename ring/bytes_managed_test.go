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
	if err := owner.EnableLiveness(LivenessConfig{RequiredIDs: []string{"r"}, StartupTimeout: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := owner.ClaimManaged(ctx, 1); !errors.Is(err, ErrStartupTimeout) {
		t.Fatalf("managed claim without the required consumer: %v, want ErrStartupTimeout", err)
	}
	c, err := AttachBytes(name, ConsumerConfig{Backend: Heap, ID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	joined, err := JoinBytesProducer(name, ProducerConfig{Backend: Heap})
	if err != nil {
		t.Fatal(err)
	}
	defer joined.Close()
	put := func(p *BytesProducer, v uint64, managed bool) {
		t.Helper()
		claim := p.Claim
		if managed {
			claim = p.ClaimManaged
		}
		seq, err := claim(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		binary.LittleEndian.PutUint64(p.Slot(seq), v)
		p.Commit()
	}
	put(owner, 1, true)
	put(joined, 2, false)
	put(owner, 3, true)
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
	if _, err := JoinBytesProducer(name, ProducerConfig{Backend: Heap}); !errors.Is(err, ErrNoFreeProducer) {
		t.Fatalf("third producer on a 2-producer ring: %v, want ErrNoFreeProducer", err)
	}
}
