package ring

import (
	"context"
	"testing"
)

// The hot paths allocate nothing. Each case runs in a steady state where
// nobody waits (publish, then consume), and builds its callbacks inside
// the measured function, capturing a variable that changes every run: if
// Publish let its fill function escape, the closure itself would be
// allocated and counted.

type allocEvent struct {
	Seq int64
	Pad [7]int64
}

func allocRing(t *testing.T, withConsumer bool) (*Producer[allocEvent], *Consumer[allocEvent]) {
	t.Helper()
	name := PortableName("alloc")
	p, err := Create[allocEvent](name, Config{Backend: Heap, Capacity: 64})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if !withConsumer {
		return p, nil
	}
	c, err := Attach[allocEvent](context.Background(), name, ConsumerConfig{Backend: Heap})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return p, c
}

func assertNoAllocs(t *testing.T, what string, f func()) {
	t.Helper()
	f() // warm: first-lap refreshes, lazy initialisation
	if n := testing.AllocsPerRun(1000, f); n != 0 {
		t.Errorf("%s: %v allocations per run, want 0", what, n)
	}
}

func TestAllocs_Producer(t *testing.T) {
	ctx := context.Background()
	t.Run("Publish_no_consumer", func(t *testing.T) {
		p, _ := allocRing(t, false)
		var i int64
		assertNoAllocs(t, "Publish", func() {
			i++
			if _, err := p.Publish(context.Background(), func(e *allocEvent) { e.Seq = i }); err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Run("TryPublish_no_consumer", func(t *testing.T) {
		p, _ := allocRing(t, false)
		var i int64
		assertNoAllocs(t, "TryPublish", func() {
			i++
			if _, err := p.TryPublish(func(e *allocEvent) { e.Seq = i }); err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Run("PublishBatch_no_consumer", func(t *testing.T) {
		p, _ := allocRing(t, false)
		var i int64
		assertNoAllocs(t, "PublishBatch", func() {
			i++
			if _, err := p.PublishBatch(context.Background(), 8, func(k int, e *allocEvent) { e.Seq = i + int64(k) }); err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Run("PublishContext_Next", func(t *testing.T) {
		p, c := allocRing(t, true)
		var i int64
		assertNoAllocs(t, "PublishContext+Next", func() {
			i++
			if _, err := p.Publish(ctx, func(e *allocEvent) { e.Seq = i }); err != nil {
				t.Fatal(err)
			}
			if ev, err := c.Recv(ctx); err != nil || ev.Seq != i {
				t.Fatal(ev, err)
			}
		})
	})
	t.Run("TryPublish_TryNext", func(t *testing.T) {
		p, c := allocRing(t, true)
		var i int64
		assertNoAllocs(t, "TryPublish+TryNext", func() {
			i++
			if _, err := p.TryPublish(func(e *allocEvent) { e.Seq = i }); err != nil {
				t.Fatal(err)
			}
			if ev, err := c.TryRecv(); err != nil || ev.Seq != i {
				t.Fatal(ev, err)
			}
		})
	})
	t.Run("Send", func(t *testing.T) {
		p, c := allocRing(t, true)
		var ev allocEvent
		assertNoAllocs(t, "Send+Next", func() {
			ev.Seq++
			if _, err := p.Send(ctx, &ev); err != nil {
				t.Fatal(err)
			}
			if got, err := c.Recv(ctx); err != nil || got.Seq != ev.Seq {
				t.Fatal(got, err)
			}
		})
	})
}

func TestAllocs_Consumer(t *testing.T) {
	ctx := context.Background()
	t.Run("Read", func(t *testing.T) {
		p, c := allocRing(t, true)
		var i, got int64
		read := func(ev *allocEvent, _ int64) error { got = ev.Seq; return nil }
		assertNoAllocs(t, "Publish+Read", func() {
			i++
			if _, err := p.Publish(ctx, func(e *allocEvent) { e.Seq = i }); err != nil {
				t.Fatal(err)
			}
			if err := c.Read(ctx, read); err != nil || got != i {
				t.Fatal(err)
			}
		})
	})
	t.Run("TryRead", func(t *testing.T) {
		p, c := allocRing(t, true)
		var i, got int64
		read := func(ev *allocEvent, _ int64) error { got = ev.Seq; return nil }
		assertNoAllocs(t, "Publish+TryRead", func() {
			i++
			if _, err := p.Publish(ctx, func(e *allocEvent) { e.Seq = i }); err != nil {
				t.Fatal(err)
			}
			if err := c.TryRead(read); err != nil || got != i {
				t.Fatal(err)
			}
		})
	})
	t.Run("PublishBatch_Process", func(t *testing.T) {
		p, c := allocRing(t, true)
		var i, sum int64
		assertNoAllocs(t, "PublishBatch+Process", func() {
			i++
			if _, err := p.PublishBatch(context.Background(), 8, func(k int, e *allocEvent) { e.Seq = i }); err != nil {
				t.Fatal(err)
			}
			n, err := c.Process(ctx, 0, func(ev *allocEvent, seq int64, end bool) error {
				sum += ev.Seq
				return nil
			})
			if err != nil || n != 8 {
				t.Fatal(n, err)
			}
		})
	})
	t.Run("All", func(t *testing.T) {
		p, c := allocRing(t, true)
		var i int64
		assertNoAllocs(t, "Publish+All", func() {
			i++
			if _, err := p.Publish(context.Background(), func(e *allocEvent) { e.Seq = i }); err != nil {
				t.Fatal(err)
			}
			for _, ev := range c.All(ctx) {
				if ev.Seq != i {
					t.Fatal(ev)
				}
				break
			}
		})
	})
}

func TestAllocs_Bytes(t *testing.T) {
	ctx := context.Background()
	name := PortableName("allocb")
	p, err := CreateBytes(name, Config{Backend: Heap, Capacity: 64, SlotSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := AttachBytes(context.Background(), name, ConsumerConfig{Backend: Heap})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var i byte
	assertNoAllocs(t, "Claim+Slot+Commit+Wait+Slot+ReleaseThrough", func() {
		i++
		lo, err := p.Claim(ctx, 4)
		if err != nil {
			t.Fatal(err)
		}
		for k := int64(0); k < 4; k++ {
			p.Slot(lo + k)[0] = i
		}
		p.Commit()
		wlo, whi, err := c.Wait(ctx)
		if err != nil || whi-wlo != 3 || c.Slot(whi)[0] != i {
			t.Fatal(wlo, whi, err)
		}
		c.ReleaseThrough(whi)
	})
	msg := []byte("0123456789")
	dst := make([]byte, 64)
	assertNoAllocs(t, "TryClaim+Commit+TryWait+ReleaseThrough", func() {
		lo, err := p.TryClaim(1)
		if err != nil {
			t.Fatal(err)
		}
		copy(p.Slot(lo), msg)
		p.Commit()
		if _, hi, err := c.TryWait(); err != nil {
			t.Fatal(err)
		} else {
			c.ReleaseThrough(hi)
		}
	})
	assertNoAllocs(t, "Publish+Next", func() {
		if _, err := p.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Recv(ctx, dst); err != nil {
			t.Fatal(err)
		}
	})
}
