package ring

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/myelon-go/myelon/internal/testfix"
)

type liveEvent struct{ Seq int64 }

func liveRing(t *testing.T, lc RequiredConfig) (*Producer[liveEvent], string) {
	t.Helper()
	name := PortableName("live")
	p, err := Create[liveEvent](name, Config{Backend: Heap, Capacity: 4, LivenessInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if err := p.Require(lc); err != nil {
		t.Fatal(err)
	}
	return p, name
}

func publishN(ctx context.Context, p *Producer[liveEvent], n int) error {
	for i := 0; i < n; i++ {
		if _, err := p.Publish(ctx, func(e *liveEvent) { e.Seq = int64(i) }); err != nil {
			return err
		}
	}
	return nil
}

func TestLiveness_StartupTimeoutNamesMissing(t *testing.T) {
	p, name := liveRing(t, RequiredConfig{IDs: []string{"a", "b"}, StartupTimeout: 50 * time.Millisecond})
	c, err := Attach[liveEvent](context.Background(), name, ConsumerConfig{Backend: Heap, ID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = p.Publish(context.Background(), func(e *liveEvent) {})
	var se *StartupError
	if !errors.Is(err, ErrStartupTimeout) || !errors.As(err, &se) || !slices.Equal(se.Missing, []string{"b"}) {
		t.Fatalf("got %v, want StartupError missing [b]", err)
	}
}

func TestLiveness_StallReturnsErrorWithIDAndPosition(t *testing.T) {
	var alerts []StallAlert
	p, name := liveRing(t, RequiredConfig{IDs: []string{"slow"}, ProgressTimeout: 30 * time.Millisecond, GracePeriod: 30 * time.Millisecond, Alert: func(a StallAlert) { alerts = append(alerts, a) }})
	c, err := Attach[liveEvent](context.Background(), name, ConsumerConfig{Backend: Heap, ID: "slow"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.TryRecv(); !errors.Is(err, ErrEmpty) {
		t.Fatalf("before any publish: %v, want ErrEmpty", err)
	}
	err = publishN(ctx, p, 10) // capacity 4, nobody reads
	var se *StallError
	if !errors.Is(err, ErrConsumerStalled) || !errors.As(err, &se) || se.ID != "slow" || se.Position != -1 || se.StalledFor < 30*time.Millisecond {
		t.Fatalf("got %v, want StallError for slow at -1", err)
	}
	if len(alerts) != 1 || alerts[0].ID != "slow" {
		t.Fatalf("alerts %v, want one for slow", alerts)
	}
	if _, err := p.Publish(ctx, func(*liveEvent) {}); !errors.Is(err, ErrConsumerStalled) {
		t.Fatalf("after failure: %v, want the sticky StallError", err)
	}
}

func TestLiveness_RejoinWithinGraceLosesNothing(t *testing.T) {
	p, name := liveRing(t, RequiredConfig{IDs: []string{"r"}, ProgressTimeout: 20 * time.Millisecond, GracePeriod: 5 * time.Second})
	c, err := Attach[liveEvent](context.Background(), name, ConsumerConfig{Backend: Heap, ID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := publishN(ctx, p, 2); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := c.Recv(ctx); err != nil {
			t.Fatal(err)
		}
	}
	c.Close() // leaves; as a required consumer it keeps gating
	done := make(chan error, 1)
	go func() { done <- publishN(ctx, p, 20) }()
	time.Sleep(100 * time.Millisecond) // producer blocks on the absent consumer
	c2, err := Attach[liveEvent](context.Background(), name, ConsumerConfig{Backend: Heap, ID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	for want := int64(0); want < 20; want++ {
		e, err := c2.Recv(ctx)
		if err != nil || e.Seq != want {
			t.Fatalf("after rejoin: event %+v err %v, want seq %d", e, err, want)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestLiveness_EvictContinues(t *testing.T) {
	p, name := liveRing(t, RequiredConfig{IDs: []string{"e"}, ProgressTimeout: 20 * time.Millisecond, GracePeriod: 20 * time.Millisecond, Action: Evict})
	c, err := Attach[liveEvent](context.Background(), name, ConsumerConfig{Backend: Heap, ID: "e"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := publishN(ctx, p, 50); err != nil {
		t.Fatalf("evict should let publishing continue: %v", err)
	}
	st := p.Stats()
	if st.Stalls != 1 || st.Evictions != 1 {
		t.Errorf("stalls %d, evictions %d; want 1 and 1", st.Stalls, st.Evictions)
	}
	kinds := map[ErrorKind]uint64{}
	for _, r := range st.Errors {
		kinds[r.Kind] = r.Count
	}
	if kinds[ErrorStall] != 1 || kinds[ErrorEvicted] != 1 {
		t.Errorf("error log %+v, want one stall and one eviction", st.Errors)
	}
	if _, err := c.Recv(ctx); !errors.Is(err, ErrEvicted) {
		t.Fatalf("evicted consumer: %v, want ErrEvicted", err)
	}
	// From then on it reads validated copies, as an observer: the producer
	// lapped it, so it hears of the events it missed.
	if _, err := c.Recv(ctx); !errors.Is(err, ErrLapped) {
		t.Fatalf("evicted consumer, next read: %v, want ErrLapped", err)
	}
}

func TestLiveness_ShutdownEndsStreamForConsumers(t *testing.T) {
	p, name := liveRing(t, RequiredConfig{IDs: []string{"s"}, ProgressTimeout: 20 * time.Millisecond, GracePeriod: 20 * time.Millisecond, Action: Shutdown})
	c, err := Attach[liveEvent](context.Background(), name, ConsumerConfig{Backend: Heap, ID: "s"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := publishN(ctx, p, 10); !errors.Is(err, ErrConsumerStalled) {
		t.Fatalf("got %v, want StallError", err)
	}
	for i := 0; i < 4; i++ {
		if _, err := c.Recv(ctx); err != nil {
			t.Fatalf("drain %d: %v", i, err)
		}
	}
	if _, err := c.Recv(ctx); !errors.Is(err, ErrEndOfStream) {
		t.Fatalf("after drain: %v, want ErrEndOfStream", err)
	}
}

// TestRequire_Replace: a second Require replaces the policy: a consumer it
// no longer names stops holding the producer back once detached. A publish
// whose context ends while a required consumer is missing reports the
// missing ids (*StartupError) and the context's error.
func TestRequire_Replace(t *testing.T) {
	name := PortableName("rreq")
	p, err := Create[testEvent](name, Config{Backend: Heap, Capacity: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	if err := p.Require(RequiredConfig{IDs: []string{"r"}}); err != nil {
		t.Fatal(err)
	}
	var se *StartupError
	if _, err := p.Send(testfix.Context(t, 20*time.Millisecond), &testEvent{}); !errors.As(err, &se) || !errors.Is(err, context.DeadlineExceeded) || !slices.Equal(se.Missing, []string{"r"}) {
		t.Fatalf("Send without r: %v, want a *StartupError naming r that matches the deadline", err)
	}
	r, err := Attach[testEvent](ctx, name, ConsumerConfig{Backend: Heap, ID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(ctx, &testEvent{Seq: 0}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Recv(ctx); err != nil {
		t.Fatal(err)
	}
	r.Close() // detached, but required: it keeps its place
	if err := p.Require(RequiredConfig{IDs: []string{"r2"}}); err != nil {
		t.Fatal(err)
	}
	r2, err := Attach[testEvent](ctx, name, ConsumerConfig{Backend: Heap, ID: "r2"})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	for i := int64(1); i <= 8; i++ {
		if _, err := p.Send(testfix.Context(t, time.Second), &testEvent{Seq: i}); err != nil {
			t.Fatalf("send %d past the dropped required consumer: %v", i, err)
		}
		if e, err := r2.Recv(ctx); err != nil || e.Seq != i {
			t.Fatalf("r2 read %+v, %v; want %d", e, err, i)
		}
	}
}
