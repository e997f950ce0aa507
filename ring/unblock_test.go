package ring

import (
	"context"
	"testing"
	"time"
)

// TestUnblock_Heap_NeverAbandonsLiveClaim stages, in one process, the
// producer table a crash can leave: producer A died holding sequence 4,
// live producer B holds 5 unpublished, and a dead entry still announces
// 4..9 (it died between announcing and a failed CAS). Unblocking 4 must
// abandon 4 only: 5 is a live producer's, 6..9 are not claimed. B then
// publishes 5 and the consumer reads it after skipping 4.
func TestUnblock_Heap_NeverAbandonsLiveClaim(t *testing.T) {
	name := PortableName("unblk")
	owner, err := Create[mpxEvent](name, Config{Backend: Heap, Capacity: 16, MaxProducers: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	c, err := Attach[mpxEvent](context.Background(), name, ConsumerConfig{Backend: Heap, ID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := int64(0); i < 4; i++ {
		if _, err := owner.Publish(context.Background(), func(e *mpxEvent) { mpxFill(0, i, e) }); err != nil {
			t.Fatal(err)
		}
	}

	// Producers A and B stop in the claim hook until released.
	inHook := make(chan int64)
	release := map[int64]chan struct{}{4: make(chan struct{}), 5: make(chan struct{})}
	testHookClaimed = func(lo int64) {
		inHook <- lo
		<-release[lo]
	}
	defer func() { testHookClaimed = nil }()
	start := func(idx int64) (*Producer[mpxEvent], chan error) {
		p, err := Join[mpxEvent](context.Background(), name, JoinConfig{Backend: Heap})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := p.Publish(context.Background(), func(e *mpxEvent) { mpxFill(idx, 0, e) })
			done <- err
		}()
		if lo := <-inHook; lo != idx+3 {
			t.Fatalf("producer %d claimed %d, want %d", idx, lo, idx+3)
		}
		return p, done
	}
	a, aDone := start(1) // claims 4
	_, bDone := start(2) // claims 5
	s := owner.p.s
	// A dies: its liveness lock is free.
	a.p.s.m.Unlock(lockProducers + int64(a.p.slot))
	// A dead entry announcing more than was ever claimed.
	stale := 3
	if stale == a.p.slot || stale == owner.p.slot {
		t.Fatal("test assumes entry 3 is free")
	}
	s.producers[stale].claimLo.store(4)
	s.producers[stale].claimHi.store(9)

	for i := int64(0); i < 4; i++ {
		if e, err := c.TryRecv(); err != nil || e.Seq != i {
			t.Fatalf("event %d: %+v, %v", i, e, err)
		}
	}
	if !s.unblock(4) {
		t.Fatal("unblock(4) with its only owners dead reported false")
	}
	if m := s.marker(4).load(); m != ^int64(4) {
		t.Errorf("marker of 4 = %d, want abandoned (%d)", m, ^int64(4))
	}
	for q := int64(5); q <= 9; q++ {
		if m := s.marker(q).load(); m == ^q {
			t.Errorf("sequence %d abandoned: it belongs to a live producer or is not claimed", q)
		}
	}
	if s.unblock(5) {
		t.Error("unblock(5) abandoned a live producer's claim")
	}
	if _, err := c.TryRecv(); err != ErrEmpty {
		t.Fatalf("after skipping 4 with 5 unpublished: %v, want ErrEmpty", err)
	}
	close(release[5])
	if err := <-bDone; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if e, err := c.Recv(ctx); err != nil || e.Producer != 2 || c.Position() != 5 {
		t.Fatalf("sequence 5: %+v at %d, %v; want producer 2's event", e, c.Position(), err)
	}
	for _, cs := range c.Stats().Consumers {
		if cs.ID == "c" && cs.Abandoned != 1 {
			t.Errorf("consumer skipped %d, want 1", cs.Abandoned)
		}
	}
	// Let A's goroutine finish; its late publish of 4 lands on a slot the
	// consumer already passed, which only a dead process could do.
	close(release[4])
	<-aDone
}
