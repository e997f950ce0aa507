//go:build linux

package ring

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

// TestTruncated_FastPaths: with TruncationGuard, calls that find room or
// an event at once (no wait, no system call) get ErrTruncated from a
// segment truncated under them, to nothing or to its first page (the
// header intact, the slots gone): Publish, Recv, Read, Process, the byte
// calls and the layer counters; Stats says "truncated", Close unmaps and
// says ErrTruncated, panic-on-fault is back off after every call.
func TestTruncated_FastPaths(t *testing.T) {
	for _, size := range []int64{0, pageSize} {
		path := filepath.Join(t.TempDir(), "ring")
		ctx := context.Background()
		p, err := Create[procEvent](path, Config{Backend: File, Capacity: 64, TruncationGuard: true})
		if err != nil {
			t.Fatal(err)
		}
		c, err := Attach[procEvent](ctx, path, ConsumerConfig{Backend: File, TruncationGuard: true})
		if err != nil {
			t.Fatal(err)
		}
		for seq := int64(0); seq < 8; seq++ {
			if _, err := p.Publish(ctx, func(e *procEvent) { e.set(seq) }); err != nil {
				t.Fatal(err)
			}
		}
		if ev, err := c.Recv(ctx); err != nil || !ev.valid(0) { // loads the cursor: the rest is on the fast path
			t.Fatalf("Recv before the truncation: %+v, %v", ev, err)
		}
		if err := os.Truncate(path, size); err != nil {
			t.Fatal(err)
		}
		check := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, ErrTruncated) {
				t.Errorf("size %d: %s: %v, want ErrTruncated", size, what, err)
			}
			if debug.SetPanicOnFault(false) {
				t.Errorf("size %d: %s left panic-on-fault on", size, what)
			}
		}
		_, err = c.Recv(ctx)
		check("Recv", err)
		check("Read", c.Read(ctx, func(*procEvent, int64) error { return nil }))
		_, err = c.Process(ctx, 0, func(*procEvent, int64, bool) error { return nil })
		check("Process", err)
		_, err = p.Publish(ctx, func(e *procEvent) { e.set(8) })
		check("Publish", err)
		_, err = p.TrySend(&procEvent{})
		check("TrySend", err)
		if st := p.Stats(); st.State != "truncated" {
			t.Errorf("size %d: producer Stats().State = %q", size, st.State)
		}
		if st := c.Stats(); st.State != "truncated" {
			t.Errorf("size %d: consumer Stats().State = %q", size, st.State)
		}
		p.LayerCounters().Add(0, 1) // process-local now: no fault
		check("consumer Close", c.Close())
		check("producer Close", p.Close())
	}
}

// TestTruncated_Bytes: the byte ring's calls, and Guard around the
// caller's own slot writes, under TruncationGuard.
func TestTruncated_Bytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ring")
	ctx := context.Background()
	p, err := CreateBytes(path, Config{Backend: File, Capacity: 64, SlotSize: 64, TruncationGuard: true})
	if err != nil {
		t.Fatal(err)
	}
	seq, err := p.Claim(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	write := func() (err error) {
		defer p.EndGuard(p.Guard(), &err)
		p.Slot(seq)[0] = 1 // the caller's own write, as frame does
		p.Commit()
		return nil
	}
	if err := write(); !errors.Is(err, ErrTruncated) {
		t.Errorf("slot write under Guard: %v, want ErrTruncated", err)
	}
	if _, err := p.TryClaim(1); !errors.Is(err, ErrTruncated) {
		t.Errorf("TryClaim after: %v, want ErrTruncated", err)
	}
	if _, err := p.Send(ctx, []byte{1}); !errors.Is(err, ErrTruncated) {
		t.Errorf("Send after: %v, want ErrTruncated", err)
	}
	if err := p.Close(); !errors.Is(err, ErrTruncated) {
		t.Errorf("Close: %v, want ErrTruncated", err)
	}
}

// TestGuard_OtherPanicsGoOn: a guard recovers faults on its segment only;
// a panic of the caller's callback reaches the caller unchanged, and
// panic-on-fault is back as it was.
func TestGuard_OtherPanicsGoOn(t *testing.T) {
	name := PortableName("guard")
	p, err := Create[procEvent](name, Config{Backend: Heap, TruncationGuard: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	boom := errors.New("boom")
	func() {
		defer func() {
			if r := recover(); r != boom {
				t.Errorf("recovered %v, want the callback's own panic", r)
			}
		}()
		p.Publish(context.Background(), func(*procEvent) { panic(boom) })
	}()
	if debug.SetPanicOnFault(false) {
		t.Error("panic-on-fault left on")
	}
}
