package ring

import (
	"context"
	"errors"
	"testing"
	"time"
)

type testEvent struct {
	Seq   int64
	Check uint64
	Pad   [6]uint64
}

func fill(seq int64) func(*testEvent) {
	return func(e *testEvent) { e.Seq = seq; e.Check = uint64(seq) * 0x9e3779b97f4a7c15 }
}

// backends runs f once per backend with a fresh segment name.
func backends(t *testing.T, f func(t *testing.T, b Backend, name string)) {
	for _, b := range []Backend{Heap, Shm, File} {
		t.Run(b.String(), func(t *testing.T) {
			name := PortableName("t")
			if b == File {
				name = t.TempDir() + "/" + name
			}
			f(t, b, name)
		})
	}
}

func TestRing_SPSC_InOrder(t *testing.T) { backends(t, testSPSCInOrder) }

func testSPSCInOrder(t *testing.T, b Backend, name string) {
	p, err := Create[testEvent](name, Config{Backend: b, Capacity: 64})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Attach[testEvent](context.Background(), name, ConsumerConfig{Backend: b, ID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 100000
	done := make(chan error, 1)
	go func() {
		for i := int64(0); i < n; i++ {
			if _, err := p.Publish(context.Background(), fill(i)); err != nil {
				done <- err
				return
			}
		}
		done <- p.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := int64(0); i < n; i++ {
		ev, err := c.Recv(ctx)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if ev.Seq != i || ev.Check != uint64(i)*0x9e3779b97f4a7c15 {
			t.Fatalf("event %d: got %+v", i, ev)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := c.Recv(ctx); !errors.Is(err, ErrEndOfStream) {
		t.Fatalf("after drain: %v, want ErrEndOfStream", err)
	}
	c.Close()
}
