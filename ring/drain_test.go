package ring

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/myelon-go/myelon/internal/testfix"
)

// TestProducer_Drain: Drain returns once every gating consumer has read
// everything published when it was called; until then a deadline ends it
// with an error naming the consumers behind. A required consumer that
// detached is waited for until it rejoins and reads the rest; observers
// and consumers that never attached are not.
func TestProducer_Drain(t *testing.T) {
	name := PortableName("drain")
	p, err := Create[testEvent](name, Config{Backend: Heap, Capacity: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	if err := p.Drain(testfix.Context(t, time.Second)); err != nil {
		t.Fatalf("Drain with no consumer: %v", err)
	}
	if err := p.Require(RequiredConfig{IDs: []string{"req"}}); err != nil {
		t.Fatal(err)
	}
	req, err := Attach[testEvent](ctx, name, ConsumerConfig{Backend: Heap, ID: "req"})
	if err != nil {
		t.Fatal(err)
	}
	fast, err := Attach[testEvent](ctx, name, ConsumerConfig{Backend: Heap, ID: "fast"})
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	obs, err := Attach[testEvent](ctx, name, ConsumerConfig{Backend: Heap, ID: "obs", Observer: true})
	if err != nil {
		t.Fatal(err)
	}
	defer obs.Close()
	for i := range int64(3) {
		if _, err := p.Send(ctx, &testEvent{Seq: i}); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if _, err := fast.Recv(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := req.Recv(ctx); err != nil {
		t.Fatal(err)
	}
	err = p.Drain(testfix.Context(t, 30*time.Millisecond))
	var de *DrainError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &de) || !slices.Equal(de.Behind, []string{"req"}) || de.Through != 2 {
		t.Fatalf("Drain with req behind: %v, want a *DrainError naming req only, through 2", err)
	}
	// req leaves; as a required consumer it still holds the producer back.
	req.Close()
	done := make(chan error, 1)
	go func() { done <- p.Drain(testfix.Context(t, 10*time.Second)) }()
	select {
	case err := <-done:
		t.Fatalf("Drain returned %v while the required consumer was away", err)
	case <-time.After(50 * time.Millisecond):
	}
	req, err = Attach[testEvent](ctx, name, ConsumerConfig{Backend: Heap, ID: "req"})
	if err != nil {
		t.Fatal(err)
	}
	defer req.Close()
	for i := int64(1); i < 3; i++ {
		if e, err := req.Recv(ctx); err != nil || e.Seq != i {
			t.Fatalf("rejoined req read %+v, %v; want seq %d", e, err, i)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("Drain after the required consumer caught up: %v", err)
	}
}
