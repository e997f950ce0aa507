package ring

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/myelon-go/myelon/internal/childtest"
	"github.com/myelon-go/myelon/internal/testfix"
)

// requiredProducerRole creates a ring with a required consumer "r",
// publishes n events once r attached, says "published" and waits to be
// killed.
var requiredProducerRole = childtest.Register("ring.required-producer", func(t *testing.T, ch *childtest.Child, a procArgs) {
	ctx, cancel := context.WithTimeout(context.Background(), procTimeout)
	defer cancel()
	p, err := Create[procEvent](a.Name, Config{Capacity: 16, LivenessInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Require(RequiredConfig{IDs: []string{"r"}}); err != nil {
		t.Fatal(err)
	}
	for i := range a.N {
		if _, err := p.Publish(ctx, func(e *procEvent) { e.set(i) }); err != nil {
			t.Fatal(err)
		}
	}
	ch.Say("published")
	ch.Await("never")
})

// TestCreate_KeepsStaleSegmentARequiredConsumerHasNotDrained: a producer
// SIGKILLed with events its required consumer has not read is restarted;
// Create refuses to replace the stale segment (a *StaleError naming the
// consumer) instead of losing those events; the consumer resumes its id
// there, reads every one of them, gets ErrProducerGone, and then Create
// replaces the segment.
func TestCreate_KeepsStaleSegmentARequiredConsumerHasNotDrained(t *testing.T) {
	name := PortableName("undr")
	t.Cleanup(func() { Reclaim(Shm, name) })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	prod := requiredProducerRole.Start(t, procArgs{Name: name, N: 10}, childtest.Options{Timeout: procTimeout})
	c, err := Attach[procEvent](ctx, name, ConsumerConfig{ID: "r", LivenessInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	prod.Expect("published")
	for i := range int64(3) {
		e, err := c.Recv(ctx)
		if err != nil || e.Seq != i {
			t.Fatalf("event %d: %+v, %v", i, e, err)
		}
	}
	c.Close() // the consumer goes away with 7 events unread
	prod.Kill()

	_, err = Create[procEvent](name, Config{Capacity: 16})
	var se *StaleError
	if !errors.As(err, &se) || !errors.Is(err, ErrStale) || !slices.Equal(se.Undrained, []string{"r"}) {
		t.Fatalf("Create over an undrained stale segment: %v, want a *StaleError naming r", err)
	}

	c, err = Attach[procEvent](ctx, name, ConsumerConfig{ID: "r", LivenessInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(3); i < 10; i++ {
		e, err := c.Recv(ctx)
		if err != nil || e.Seq != i {
			t.Fatalf("event %d after the restart: %+v, %v", i, e, err)
		}
	}
	if _, err := c.Recv(ctx); !errors.Is(err, ErrProducerGone) {
		t.Fatalf("after draining the dead producer's segment: %v, want ErrProducerGone", err)
	}
	c.Close()
	p, err := Create[procEvent](name, Config{Capacity: 16})
	if err != nil {
		t.Fatalf("Create once drained: %v", err)
	}
	p.Close()
}

// claimHangRole joins a multi-producer byte ring, claims a slot, says
// "claimed" and waits to be killed without publishing it.
var claimHangRole = childtest.Register("ring.claim-hang", func(t *testing.T, ch *childtest.Child, a procArgs) {
	ctx, cancel := context.WithTimeout(context.Background(), procTimeout)
	defer cancel()
	p, err := JoinBytes(ctx, a.Name, JoinConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Claim(ctx, 1); err != nil {
		t.Fatal(err)
	}
	ch.Say("claimed")
	ch.Await("never")
})

// TestJoin_WaitsForADeadProducersClaim: a producer restarted right after
// it died holding a claim finds the only free entry still holding that
// claim; Join waits for the consumers to abandon it instead of failing
// with ErrNoFreeProducer, and then takes the entry.
func TestJoin_WaitsForADeadProducersClaim(t *testing.T) {
	name := PortableName("jclm")
	p, err := CreateBytes(name, Config{SlotSize: 64, Capacity: 8, MaxProducers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := AttachBytes(ctx, name, ConsumerConfig{ID: "c", LivenessInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dead := claimHangRole.Start(t, procArgs{Name: name}, childtest.Options{Timeout: procTimeout})
	dead.Expect("claimed")
	dead.Kill()
	// Entry 1 is free of a live producer but holds the dead claim: a Join
	// now must wait, not fail.
	joined := make(chan error, 1)
	go func() {
		j, err := JoinBytes(ctx, name, JoinConfig{})
		if err == nil {
			j.Close()
		}
		joined <- err
	}()
	// The consumer reaches the dead claim and abandons it after its
	// unblock timeout (the liveness interval).
	if _, err := c.Recv(testfix.Context(t, 500*time.Millisecond), make([]byte, 64)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recv over an abandoned claim and an empty ring: %v, want the context's deadline", err)
	}
	if err := <-joined; err != nil {
		t.Fatalf("Join after a dead producer's claim: %v", err)
	}
	if st := c.Stats(); st.Abandoned != 1 {
		t.Errorf("abandoned %d sequences, want 1", st.Abandoned)
	}
}

// TestRequire_StillReapsDeadPlainConsumers: a producer whose
// required-consumer policy waits for space in short slices still detaches
// a dead consumer that is not required, within the liveness interval;
// it used to restart its probe timer with every slice and never probe.
func TestRequire_StillReapsDeadPlainConsumers(t *testing.T) {
	name := PortableName("rqrp")
	// A liveness interval many times the policy's 5 ms slices: no slice
	// ever lasts long enough to reach it on its own.
	p, err := Create[procEvent](name, Config{Capacity: 8, LivenessInterval: 250 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Require(RequiredConfig{IDs: []string{"r"}, GracePeriod: time.Minute}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := Attach[procEvent](ctx, name, ConsumerConfig{ID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	x := spawn(t, procArgs{Role: "consume", Name: name, ID: "x", Read: "idle", Wait: "block", After: "hang"})
	x.Expect("attached")
	x.Kill()
	const n = 40 // five laps: x, dead, holds the producer back until reaped
	read := make(chan error, 1)
	go func() {
		for range n {
			if _, err := r.Recv(ctx); err != nil {
				read <- err
				return
			}
		}
		read <- nil
	}()
	for i := range int64(n) {
		if _, err := p.Publish(ctx, func(e *procEvent) { e.set(i) }); err != nil {
			t.Fatalf("publish %d with a dead plain consumer: %v", i, err)
		}
	}
	if err := <-read; err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.DeadConsumers != 1 {
		t.Errorf("dead consumers detached: %d, want 1", st.DeadConsumers)
	}
}
