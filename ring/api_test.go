package ring

// In-process unit tests of the public API on the Heap backend, so that
// `go test -race` sees every slot access. Multi-process behaviour is
// tested in multiprocess_test.go.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"
	"unsafe"

	"github.com/myelon-go/myelon/internal/testfix"
)

// apiEvent is self-checking: every field derives from the sequence.
type apiEvent struct {
	Seq int64
	Sum uint64
	Pad [2]uint64
}

func apiSum(seq int64) uint64 { return uint64(seq)*0x9e3779b97f4a7c15 ^ 0x5bd1e995 }

func (e *apiEvent) set(seq int64) {
	e.Seq, e.Sum = seq, apiSum(seq)
	e.Pad[0], e.Pad[1] = uint64(seq), ^uint64(seq)
}

func (e apiEvent) check(seq int64) error {
	if e.Seq != seq || e.Sum != apiSum(seq) || e.Pad[0] != uint64(seq) || e.Pad[1] != ^uint64(seq) {
		return fmt.Errorf("event %d: got %+v", seq, e)
	}
	return nil
}

// apiTimeout bounds every blocking call of these tests: a hang fails the
// test instead of stalling the run.
const apiTimeout = 20 * time.Second

func apiCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	t.Cleanup(cancel)
	return ctx
}

func apiCreate(t *testing.T, cfg Config) (*Producer[apiEvent], string) {
	t.Helper()
	name := PortableName("api")
	cfg.Backend = Heap
	p, err := Create[apiEvent](name, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, name
}

func apiAttach(t *testing.T, name string, cc ConsumerConfig) *Consumer[apiEvent] {
	t.Helper()
	cc.Backend = Heap
	c, err := Attach[apiEvent](context.Background(), name, cc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// publishSeqs publishes the next n events, each filled from its sequence.
func publishSeqs(t *testing.T, p *Producer[apiEvent], n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := p.Publish(context.Background(), func(e *apiEvent) { e.set(p.p.next) }); err != nil {
			t.Fatal(err)
		}
	}
}

func expectNext(t *testing.T, c *Consumer[apiEvent], seq int64) {
	t.Helper()
	ev, err := c.Recv(apiCtx(t))
	if err != nil {
		t.Fatalf("Next (want %d): %v", seq, err)
	}
	if err := ev.check(seq); err != nil {
		t.Fatal(err)
	}
}

func TestProducer_TryPublish_FullUntilConsumed(t *testing.T) {
	p, name := apiCreate(t, Config{Capacity: 4})
	c := apiAttach(t, name, ConsumerConfig{ID: "gate"})
	for i := int64(0); i < 4; i++ {
		seq, err := p.TryPublish(func(e *apiEvent) { e.set(i) })
		if err != nil || seq != i {
			t.Fatalf("TryPublish %d = %d, %v", i, seq, err)
		}
	}
	if seq, err := p.TryPublish(func(e *apiEvent) { t.Error("fill called on a full ring") }); !errors.Is(err, ErrFull) || seq != -1 {
		t.Fatalf("TryPublish on a full ring = %d, %v; want ErrFull", seq, err)
	}
	if _, err := p.TryPublishBatch(1, func(int, *apiEvent) {}); !errors.Is(err, ErrFull) {
		t.Fatalf("TryPublishBatch on a full ring = %v; want ErrFull", err)
	}
	if st := p.Stats(); st.FullWaits < 2 || st.Published != 4 {
		t.Errorf("stats after two full attempts: %+v", st)
	}
	expectNext(t, c, 0)
	if seq, err := p.TryPublish(func(e *apiEvent) { e.set(4) }); err != nil || seq != 4 {
		t.Fatalf("TryPublish after one consume = %d, %v", seq, err)
	}
	for i := int64(1); i <= 4; i++ {
		expectNext(t, c, i)
	}
}

func TestProducer_TryPublish_NoConsumerNeverFull(t *testing.T) {
	p, _ := apiCreate(t, Config{Capacity: 4})
	for i := int64(0); i < 100; i++ {
		if _, err := p.TryPublish(func(e *apiEvent) { e.set(i) }); err != nil {
			t.Fatalf("event %d with nobody gating: %v", i, err)
		}
	}
}

func TestProducer_PublishBatch_OneCursorStore(t *testing.T) {
	p, name := apiCreate(t, Config{Capacity: 16})
	c := apiAttach(t, name, ConsumerConfig{})
	publishSeqs(t, p, 3)
	before := p.Stats().Published
	hi, err := p.PublishBatch(context.Background(), 5, func(i int, e *apiEvent) {

		if cur := p.p.s.prod.cursor.load(); cur != 2 {
			t.Errorf("fill %d: cursor moved to %d mid-batch", i, cur)
		}
		e.set(3 + int64(i))
	})

	if err != nil || hi != 7 {
		t.Fatalf("PublishBatch = %d, %v; want 7", hi, err)
	}
	if after := p.Stats().Published; after != before+5 {
		t.Fatalf("Published %d -> %d, want a jump of 5", before, after)
	}
	for i := int64(0); i < 8; i++ {
		expectNext(t, c, i)
	}
	// A batch of exactly the capacity fits an empty ring.
	if hi, err := p.PublishBatch(context.Background(), 16, func(i int, e *apiEvent) { e.set(8 + int64(i)) }); err != nil || hi != 23 {
		t.Fatalf("PublishBatch(capacity) = %d, %v", hi, err)
	}
	for _, n := range []int{17, 0, -1} {
		if _, err := p.PublishBatch(context.Background(), n, func(int, *apiEvent) { t.Error("fill called") }); !errors.Is(err, ErrBatchTooLarge) {
			t.Errorf("PublishBatch(%d) = %v, want ErrBatchTooLarge", n, err)
		}
		if _, err := p.TryPublishBatch(n, func(int, *apiEvent) { t.Error("fill called") }); !errors.Is(err, ErrBatchTooLarge) {
			t.Errorf("TryPublishBatch(%d) = %v, want ErrBatchTooLarge", n, err)
		}
	}
	if got := p.Stats().Published; got != 24 {
		t.Errorf("rejected batches published something: %d", got)
	}
	for i := int64(8); i < 24; i++ {
		expectNext(t, c, i)
	}
}

func TestProducer_Send(t *testing.T) {
	p, name := apiCreate(t, Config{Capacity: 4})
	c := apiAttach(t, name, ConsumerConfig{})
	var ev apiEvent
	ev.set(0)
	if seq, err := p.Send(apiCtx(t), &ev); err != nil || seq != 0 {
		t.Fatalf("Send = %d, %v", seq, err)
	}
	expectNext(t, c, 0)
}

func TestConsumer_Read(t *testing.T) {
	p, name := apiCreate(t, Config{Capacity: 2})
	c := apiAttach(t, name, ConsumerConfig{})
	ctx := apiCtx(t)
	publishSeqs(t, p, 1)
	err := c.Read(ctx, func(ev *apiEvent, seq int64) error {
		if seq != 0 {
			t.Errorf("Read lent seq %d, want 0", seq)
		}
		// In place: the pointer is the slot itself, no copy.
		if unsafe.Pointer(ev) != p.p.s.slot(0) || unsafe.Pointer(ev) != c.c.s.slot(0) {
			t.Fatalf("lent pointer %p is not slot 0 (%p)", ev, p.p.s.slot(0))
		}
		if err := ev.check(0); err != nil {
			t.Fatal(err)
		}
		// The lent slot is reserved: the producer can fill the other
		// slot, then is gated by the read in progress.
		publishSeqs(t, p, 1)
		if _, err := p.TryPublish(func(*apiEvent) {}); !errors.Is(err, ErrFull) {
			t.Fatalf("TryPublish over a lent slot = %v, want ErrFull", err)
		}
		if c.Position() != -1 {
			t.Errorf("Position during Read %d, want -1", c.Position())
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if c.Position() != 0 {
		t.Errorf("Position after Read %d, want 0", c.Position())
	}
	if _, err := p.TryPublish(func(e *apiEvent) { e.set(2) }); err != nil {
		t.Fatalf("TryPublish after Read: %v", err)
	}
	// fn's error is returned and the event is consumed all the same.
	boom := errors.New("boom")
	err = c.TryRead(func(ev *apiEvent, seq int64) error {
		if seq != 1 {
			t.Errorf("TryRead lent seq %d, want 1", seq)
		}
		if err := ev.check(1); err != nil {
			t.Fatal(err)
		}
		return boom
	})
	if !errors.Is(err, boom) || c.Position() != 1 {
		t.Fatalf("TryRead = %v at position %d, want boom at 1", err, c.Position())
	}
	expectNext(t, c, 2)
	if err := c.TryRead(func(*apiEvent, int64) error { return nil }); !errors.Is(err, ErrEmpty) {
		t.Errorf("TryRead on empty = %v, want ErrEmpty", err)
	}
}

type batchCall struct {
	seq int64
	end bool
}

func TestConsumer_Process(t *testing.T) {
	p, name := apiCreate(t, Config{Capacity: 16})
	c := apiAttach(t, name, ConsumerConfig{})
	ctx := apiCtx(t)
	publishSeqs(t, p, 5)
	var calls []batchCall
	record := func(ev *apiEvent, seq int64, end bool) error {
		if err := ev.check(seq); err != nil {
			return err
		}
		calls = append(calls, batchCall{seq, end})
		return nil
	}
	n, err := c.Process(ctx, 0, record)
	if err != nil || n != 5 {
		t.Fatalf("Process = %d, %v", n, err)
	}
	want := []batchCall{{0, false}, {1, false}, {2, false}, {3, false}, {4, true}}
	if fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Fatalf("calls %v, want %v", calls, want)
	}
	// max bounds the batch; endOfBatch marks the last one handed out.
	publishSeqs(t, p, 5) // 5..9
	calls = nil
	if n, err := c.Process(ctx, 2, record); err != nil || n != 2 {
		t.Fatalf("Process(max 2) = %d, %v", n, err)
	}
	if fmt.Sprint(calls) != fmt.Sprint([]batchCall{{5, false}, {6, true}}) {
		t.Fatalf("calls %v", calls)
	}
	// An error leaves the failing event unconsumed, the ones before consumed.
	boom := errors.New("boom")
	n, err = c.Process(ctx, 0, func(ev *apiEvent, seq int64, end bool) error {
		if seq == 8 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || n != 1 || c.Position() != 7 {
		t.Fatalf("Process failing at 8 = %d, %v, position %d; want 1, boom, 7", n, err, c.Position())
	}
	n, err = c.TryProcess(0, func(*apiEvent, int64, bool) error { return boom })
	if !errors.Is(err, boom) || n != 0 || c.Position() != 7 {
		t.Fatalf("TryProcess failing at once = %d, %v, position %d", n, err, c.Position())
	}
	expectNext(t, c, 8)
	expectNext(t, c, 9)
	if _, err := c.TryProcess(0, record); !errors.Is(err, ErrEmpty) {
		t.Fatalf("TryProcess on empty = %v", err)
	}
	// A gated producer sees the commit of a whole batch.
	publishSeqs(t, p, 16)
	if _, err := p.TryPublish(func(*apiEvent) {}); !errors.Is(err, ErrFull) {
		t.Fatalf("want a full ring, got %v", err)
	}
	if n, err := c.Process(ctx, 0, func(*apiEvent, int64, bool) error { return nil }); n != 16 || err != nil {
		t.Fatalf("Process full ring = %d, %v", n, err)
	}
	if _, err := p.TryPublishBatch(16, func(i int, e *apiEvent) { e.set(26 + int64(i)) }); err != nil {
		t.Fatalf("after a 16-event batch commit: %v", err)
	}
}

func TestConsumer_All(t *testing.T) {
	t.Run("end_of_stream", func(t *testing.T) {
		p, name := apiCreate(t, Config{Capacity: 8})
		c := apiAttach(t, name, ConsumerConfig{})
		publishSeqs(t, p, 5)
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		var got int64
		for seq, ev := range c.All(apiCtx(t)) {
			if seq != got || ev.check(seq) != nil {
				t.Fatalf("All yielded %d %+v, want %d", seq, ev, got)
			}
			got++
		}
		if got != 5 || c.Err() != nil {
			t.Fatalf("All ended after %d events with Err %v; want 5, nil", got, c.Err())
		}
		if _, err := c.Recv(apiCtx(t)); !errors.Is(err, ErrEndOfStream) {
			t.Fatalf("Next after drain = %v", err)
		}
	})
	t.Run("cancel_then_break", func(t *testing.T) {
		p, name := apiCreate(t, Config{Capacity: 8})
		c := apiAttach(t, name, ConsumerConfig{})
		publishSeqs(t, p, 3)
		ctx, cancel := context.WithCancel(apiCtx(t))
		defer cancel()
		n := 0
		for range c.All(ctx) {
			if n++; n == 3 {
				cancel()
			}
		}
		if n != 3 || !errors.Is(c.Err(), context.Canceled) {
			t.Fatalf("All after cancel: %d events, Err %v", n, c.Err())
		}
		// A later loop that the body ends reports no error.
		publishSeqs(t, p, 2)
		for seq := range c.All(apiCtx(t)) {
			if seq != 3 {
				t.Fatalf("resumed at %d, want 3", seq)
			}
			break
		}
		if c.Err() != nil {
			t.Fatalf("Err after a loop ended by break = %v, want nil", c.Err())
		}
	})
}

func TestConsumer_TryNext_Empty(t *testing.T) {
	p, name := apiCreate(t, Config{Capacity: 4})
	c := apiAttach(t, name, ConsumerConfig{ID: "empty"})
	if _, err := c.TryRecv(); !errors.Is(err, ErrEmpty) {
		t.Fatalf("TryNext = %v, want ErrEmpty", err)
	}
	publishSeqs(t, p, 1)
	if ev, err := c.TryRecv(); err != nil || ev.check(0) != nil {
		t.Fatalf("TryNext = %+v, %v", ev, err)
	}
	if _, err := c.TryRecv(); !errors.Is(err, ErrEmpty) {
		t.Fatalf("TryNext = %v, want ErrEmpty", err)
	}
	if cs := p.Stats().Consumers; len(cs) != 1 || cs[0].EmptyWaits != 2 {
		t.Errorf("consumer stats %+v, want 2 empty waits", cs)
	}
}

var apiStrategies = []WaitStrategy{Block, BusySpin, Yield, Sleep(200 * time.Microsecond)}

func TestConsumer_Next_ContextCancel(t *testing.T) {
	for _, w := range apiStrategies {
		t.Run(w.String(), func(t *testing.T) {
			_, name := apiCreate(t, Config{Capacity: 4})
			// A long liveness interval: only the context can end the wait.
			c := apiAttach(t, name, ConsumerConfig{Wait: w, LivenessInterval: time.Minute})
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
			defer cancel()
			testfix.Within(t, apiTimeout, "Next on cancellation", func() {
				if _, err := c.Recv(ctx); !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("Next = %v, want DeadlineExceeded", err)
				}
			})
			if el := time.Since(start); el < 30*time.Millisecond {
				t.Errorf("Next returned after %v, before its deadline", el)
			}
			// An already-cancelled context on a non-empty ring still reads:
			// the event is there, no wait happens.
			ctx2, cancel2 := context.WithCancel(context.Background())
			cancel2()
			if err := c.Read(ctx2, func(*apiEvent, int64) error { return nil }); !errors.Is(err, context.Canceled) {
				t.Errorf("Read with a cancelled context on an empty ring = %v", err)
			}
		})
	}
}

func TestProducer_Publish_ContextCancel(t *testing.T) {
	for _, w := range apiStrategies {
		t.Run(w.String(), func(t *testing.T) {
			p, name := apiCreate(t, Config{Capacity: 2, Wait: w, LivenessInterval: time.Minute})
			c := apiAttach(t, name, ConsumerConfig{})
			publishSeqs(t, p, 2)
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
			defer cancel()
			testfix.Within(t, apiTimeout, "PublishContext on cancellation", func() {
				if _, err := p.Publish(ctx, func(*apiEvent) { t.Error("fill called") }); !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("PublishContext = %v, want DeadlineExceeded", err)
				}
				if _, err := p.PublishBatch(ctx, 2, func(int, *apiEvent) { t.Error("fill called") }); !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("PublishBatchContext = %v, want DeadlineExceeded", err)
				}
			})
			if el := time.Since(start); el < 30*time.Millisecond {
				t.Errorf("PublishContext returned after %v, before its deadline", el)
			}
			if got := p.Stats().Published; got != 2 {
				t.Fatalf("a cancelled publish published: %d", got)
			}
			// The ring is intact: drain and go on.
			expectNext(t, c, 0)
			expectNext(t, c, 1)
			publishSeqs(t, p, 1)
			expectNext(t, c, 2)
		})
	}
}

func TestConsumer_Close_StopsGating(t *testing.T) {
	// The producer parks (Block) with a long liveness interval, so only the
	// wake issued by Close can free it.
	p, name := apiCreate(t, Config{Capacity: 2, LivenessInterval: time.Minute})
	c := apiAttach(t, name, ConsumerConfig{})
	publishSeqs(t, p, 2)
	errc := make(chan error, 1)
	go func() {
		_, err := p.Publish(apiCtx(t), func(e *apiEvent) { e.set(2) })
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond) // let it park (not required for correctness)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Publish after the gating consumer closed: %v", err)
		}
	case <-time.After(apiTimeout):
		t.Fatal("producer still blocked after the only gating consumer closed")
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if _, err := c.TryRecv(); !errors.Is(err, ErrClosed) {
		t.Errorf("TryNext after Close = %v, want ErrClosed", err)
	}
	if st := p.Stats(); len(st.Consumers) != 1 || st.Consumers[0].State != "detached" {
		t.Errorf("closed consumer's entry: %+v", st.Consumers)
	}
}

func TestProducer_Close(t *testing.T) {
	p, name := apiCreate(t, Config{Capacity: 4})
	c := apiAttach(t, name, ConsumerConfig{})
	publishSeqs(t, p, 2)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if _, err := p.TryPublish(func(*apiEvent) {}); !errors.Is(err, ErrClosed) {
		t.Errorf("TryPublish after Close = %v, want ErrClosed", err)
	}
	if _, err := p.Publish(context.Background(), func(*apiEvent) {}); !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
	// The owner unlinked the segment: nobody new can attach.
	if _, err := Attach[apiEvent](testfix.Context(t, 20*time.Millisecond), name, ConsumerConfig{Backend: Heap}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Attach after owner Close = %v, want ErrNotFound", err)
	}
	expectNext(t, c, 0)
	expectNext(t, c, 1)
	if c.Stats().State != "closed" {
		t.Errorf("State %q, want closed", c.Stats().State)
	}
	if _, err := c.Recv(apiCtx(t)); !errors.Is(err, ErrEndOfStream) {
		t.Errorf("Next after drain = %v, want ErrEndOfStream", err)
	}
	if _, err := c.TryRecv(); !errors.Is(err, ErrEndOfStream) {
		t.Errorf("TryNext after drain = %v, want ErrEndOfStream", err)
	}
}

func TestConsumer_IDInUse(t *testing.T) {
	p, name := apiCreate(t, Config{Capacity: 8})
	c := apiAttach(t, name, ConsumerConfig{ID: "dup"})
	_, err := Attach[apiEvent](context.Background(), name, ConsumerConfig{Backend: Heap, ID: "dup"})
	if !errors.Is(err, ErrIDInUse) {
		t.Fatalf("second Attach under %q = %v, want ErrIDInUse", "dup", err)
	}
	// Rejoining after Close resumes the id's position.
	publishSeqs(t, p, 5)
	expectNext(t, c, 0)
	expectNext(t, c, 1)
	c.Close()
	c2 := apiAttach(t, name, ConsumerConfig{ID: "dup"})
	expectNext(t, c2, 2)
}

func TestConsumer_TableFull(t *testing.T) {
	_, name := apiCreate(t, Config{Capacity: 8, MaxConsumers: 2})
	a := apiAttach(t, name, ConsumerConfig{ID: "a"})
	apiAttach(t, name, ConsumerConfig{ID: "b"})
	if _, err := Attach[apiEvent](context.Background(), name, ConsumerConfig{Backend: Heap, ID: "c"}); !errors.Is(err, ErrNoFreeConsumer) {
		t.Fatalf("third Attach = %v, want ErrNoFreeConsumer", err)
	}
	a.Close()
	apiAttach(t, name, ConsumerConfig{ID: "c"}) // reuses a's entry
	if _, err := Attach[apiEvent](context.Background(), name, ConsumerConfig{Backend: Heap, ID: "a"}); !errors.Is(err, ErrNoFreeConsumer) {
		t.Fatalf("a after its entry was reused = %v, want ErrNoFreeConsumer", err)
	}
}

func TestConsumer_Start(t *testing.T) {
	t.Run("latest", func(t *testing.T) {
		p, name := apiCreate(t, Config{Capacity: 16})
		publishSeqs(t, p, 10)
		c := apiAttach(t, name, ConsumerConfig{})
		if _, err := c.TryRecv(); !errors.Is(err, ErrEmpty) {
			t.Fatalf("late joiner read old events: %v", err)
		}
		if c.Position() != 9 {
			t.Errorf("Position %d, want 9", c.Position())
		}
		publishSeqs(t, p, 1)
		expectNext(t, c, 10)
	})
	t.Run("explicit", func(t *testing.T) {
		p, name := apiCreate(t, Config{Capacity: 16})
		publishSeqs(t, p, 10)
		c := apiAttach(t, name, ConsumerConfig{Start: StartAt(3)})
		for i := int64(3); i < 10; i++ {
			expectNext(t, c, i)
		}
	})
	t.Run("explicit_overwritten", func(t *testing.T) {
		p, name := apiCreate(t, Config{Capacity: 4})
		publishSeqs(t, p, 10) // nobody gates: 0..5 are overwritten or may be
		c := apiAttach(t, name, ConsumerConfig{Start: StartAt(0)})
		_, err := c.Recv(apiCtx(t))
		var le *LappedError
		if !errors.As(err, &le) || !errors.Is(err, ErrLapped) {
			t.Fatalf("first read from an overwritten start = %v, want *LappedError", err)
		}
		if le.ResumeAt != le.Missed || le.ResumeAt < 10-4 || le.ResumeAt > 10 {
			t.Fatalf("LappedError %+v: want Missed == ResumeAt within the last lap", le)
		}
		for i := le.ResumeAt; i < 10; i++ {
			expectNext(t, c, i)
		}
		if st := c.Stats().Consumers; len(st) != 1 || st[0].Lapped != uint64(le.Missed) {
			t.Errorf("lapped counter %+v, want %d", st, le.Missed)
		}
	})
}

func TestBytes_ClaimCommitWaitRelease(t *testing.T) {
	name := PortableName("bytes")
	p, err := CreateBytes(name, Config{Backend: Heap, Capacity: 8, SlotSize: 30, Meta: []byte("geometry")})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := AttachBytes(context.Background(), name, ConsumerConfig{Backend: Heap, ID: "b"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := apiCtx(t)
	if p.SlotSize() != 32 || c.SlotSize() != 32 {
		t.Fatalf("slot sizes %d/%d, want 32", p.SlotSize(), c.SlotSize())
	}
	if m := c.UserMeta(); string(m[:8]) != "geometry" || m != p.UserMeta() {
		t.Fatalf("Meta %q", m[:])
	}
	lo, err := p.Claim(ctx, 3)
	if err != nil || lo != 0 {
		t.Fatalf("Claim = %d, %v", lo, err)
	}
	if _, err := p.Claim(ctx, 1); err == nil {
		t.Fatal("second Claim before Commit succeeded")
	}
	for seq := lo; seq < lo+3; seq++ {
		s := p.Slot(seq)
		if len(s) != 32 {
			t.Fatalf("slot of %d bytes", len(s))
		}
		for i := range s {
			s[i] = byte(seq*31) + byte(i)
		}
	}
	if _, _, err := c.TryWait(); !errors.Is(err, ErrEmpty) {
		t.Fatalf("TryWait before Commit = %v", err)
	}
	if hi := p.Commit(); hi != 2 {
		t.Fatalf("Commit = %d, want 2", hi)
	}
	wlo, whi, err := c.Wait(ctx)
	if err != nil || wlo != 0 || whi != 2 {
		t.Fatalf("Wait = [%d, %d], %v", wlo, whi, err)
	}
	for seq := wlo; seq <= whi; seq++ {
		s := c.Slot(seq)
		if unsafe.SliceData(s) != unsafe.SliceData(p.Slot(seq)) {
			t.Fatal("consumer slot is not the producer's slot")
		}
		for i := range s {
			if s[i] != byte(seq*31)+byte(i) {
				t.Fatalf("slot %d byte %d = %d", seq, i, s[i])
			}
		}
	}
	c.ReleaseThrough(1)
	if c.Position() != 1 {
		t.Fatalf("Position after ReleaseThrough(1) = %d", c.Position())
	}
	c.ReleaseThrough(7) // beyond the readable range: ignored
	c.ReleaseThrough(0) // already released: ignored
	if c.Position() != 1 {
		t.Fatalf("out-of-range ReleaseThrough moved Position to %d", c.Position())
	}
	if wlo, whi, err = c.Wait(ctx); err != nil || wlo != 2 || whi != 2 {
		t.Fatalf("Wait = [%d, %d], %v; want [2, 2]", wlo, whi, err)
	}
	c.ReleaseThrough(2)
	// Publish/Next copy forms, and bounds.
	if _, err := p.Send(ctx, make([]byte, 33)); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Publish of 33 bytes into 32 = %v", err)
	}
	if seq, err := p.Send(ctx, []byte("hello")); err != nil || seq != 3 {
		t.Fatalf("Publish = %d, %v", seq, err)
	}
	dst := make([]byte, 5)
	if seq, err := c.Recv(ctx, dst); err != nil || seq != 3 || string(dst) != "hello" {
		t.Fatalf("Next = %d, %q, %v", seq, dst, err)
	}
	if _, err := p.TryClaim(9); !errors.Is(err, ErrBatchTooLarge) {
		t.Fatalf("TryClaim(9) = %v, want ErrBatchTooLarge", err)
	}
	// Fill the ring (consumer at 3: sequences 4..11 fit), then one more.
	if _, err := p.TryClaim(8); err != nil {
		t.Fatal(err)
	}
	p.Commit()
	if _, err := p.TryClaim(1); !errors.Is(err, ErrFull) {
		t.Fatalf("TryClaim on a full ring = %v, want ErrFull", err)
	}
	if lo, hi, err := c.TryWait(); err != nil || lo != 4 || hi != 11 {
		t.Fatalf("TryWait = [%d, %d], %v", lo, hi, err)
	}
	c.ReleaseThrough(11)
	if _, err := p.TryClaim(8); err != nil {
		t.Fatalf("TryClaim after ReleaseThrough: %v", err)
	}
	p.Commit()
}

func TestStats_AndInfo(t *testing.T) {
	p, name := apiCreate(t, Config{Capacity: 8, MaxConsumers: 4})
	c := apiAttach(t, name, ConsumerConfig{ID: "stats"})
	if _, err := c.TryRecv(); !errors.Is(err, ErrEmpty) {
		t.Fatal(err)
	}
	publishSeqs(t, p, 5)
	expectNext(t, c, 0)
	expectNext(t, c, 1)
	for i := 0; i < 5; i++ { // 5..9 fit (consumer at 1), then full
		if _, err := p.TryPublish(func(e *apiEvent) {}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.TryPublish(func(e *apiEvent) {}); !errors.Is(err, ErrFull) {
		t.Fatal(err)
	}
	st := p.Stats()
	if st.State != "ready" || st.Published != 10 || st.FullWaits != 1 || st.DeadConsumers != 0 || st.Abandoned != 0 {
		t.Errorf("ring stats %+v", st)
	}
	if len(st.Consumers) != 1 {
		t.Fatalf("consumers %+v", st.Consumers)
	}
	cs := st.Consumers[0]
	want := ConsumerStats{Index: cs.Index, ID: "stats", State: "active", PID: uint32(os.Getpid()), Alive: true, Position: 1, Lag: 8, Consumed: 2, EmptyWaits: 1, LagMax: 5}
	if cs != want {
		t.Errorf("consumer stats %+v, want %+v", cs, want)
	}
	info, cinfo := p.Info(), c.Info()
	if info != cinfo {
		t.Errorf("producer and consumer disagree: %+v vs %+v", info, cinfo)
	}
	if info.Name != name || info.Backend != "heap" || info.Kind != "typed" || info.Capacity != 8 || info.SlotSize != 32 ||
		info.ElemSize != 32 || info.MaxConsumers != 4 || info.OwnerPID != uint32(os.Getpid()) || info.Epoch == 0 ||
		info.TotalSize != int64(p.p.s.r.total) || time.Since(info.Created) > time.Minute {
		t.Errorf("info %+v", info)
	}
	iinfo, ist, err := Inspect(Heap, name)
	if err != nil {
		t.Fatal(err)
	}
	if iinfo != info || !ist.ProducerAlive || ist.Published != 10 || len(ist.Consumers) != 1 {
		t.Errorf("Inspect = %+v, %+v", iinfo, ist)
	}
	if st := c.Stats(); st.Published != 10 || !st.ProducerAlive {
		t.Errorf("consumer's view %+v, want 10 published by a live producer", st)
	}
	if st := p.Stats(); !st.ProducerAlive {
		t.Errorf("producer's own view %+v, want it alive", st)
	}
	p.Close()
	if st := c.Stats(); st.ProducerAlive {
		t.Errorf("consumer's view after the producer closed: %+v, want it not alive", st)
	}
}

// TestWaitStrategies_Stream runs a short stream between two goroutines for
// each strategy on both sides; every event arrives once, in order, intact.
func TestWaitStrategies_Stream(t *testing.T) {
	for _, w := range apiStrategies {
		t.Run(w.String(), func(t *testing.T) {
			n := int64(5000)
			if w.kind == waitSleep {
				n = 500
			}
			p, name := apiCreate(t, Config{Capacity: 8, Wait: w})
			c := apiAttach(t, name, ConsumerConfig{Wait: w})
			ctx := apiCtx(t)
			errc := make(chan error, 1)
			go func() {
				for i := int64(0); i < n; i++ {
					if _, err := p.Publish(ctx, func(e *apiEvent) { e.set(i) }); err != nil {
						errc <- err
						return
					}
				}
				errc <- p.Close()
			}()
			for i := int64(0); i < n; i++ {
				ev, err := c.Recv(ctx)
				if err != nil {
					t.Fatalf("Next %d: %v", i, err)
				}
				if err := ev.check(i); err != nil {
					t.Fatal(err)
				}
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if _, err := c.Recv(ctx); !errors.Is(err, ErrEndOfStream) {
				t.Fatalf("after the stream: %v", err)
			}
		})
	}
}

// TestBlock_ParkWakeStress exercises the waiter-count protocol: short bursts
// separated by idle gaps on a 4-slot ring, so that the consumer parks on an
// empty ring and the producer parks on a full one, over and over. The
// liveness interval (the futex timeout) is a minute on both sides: a lost
// wake-up shows as a hang, caught by the context deadline, not as a
// 100 ms hiccup.
func TestBlock_ParkWakeStress(t *testing.T) {
	bursts := 400
	if testing.Short() {
		bursts = 100
	}
	p, name := apiCreate(t, Config{Capacity: 4, Wait: Block, LivenessInterval: time.Minute})
	c := apiAttach(t, name, ConsumerConfig{Wait: Block, LivenessInterval: time.Minute})
	ctx := apiCtx(t)
	rng := rand.New(rand.NewPCG(1, 2))
	type burst struct {
		n              int
		prodGap, cGap  time.Duration
		consumerStalls bool
	}
	plan := make([]burst, bursts)
	total := int64(0)
	for i := range plan {
		b := burst{n: 1 + rng.IntN(12)}
		switch rng.IntN(4) {
		case 0: // back to back
		case 1:
			b.prodGap = time.Duration(rng.IntN(200)) * time.Microsecond
		default:
			b.prodGap = 300 * time.Microsecond // long enough for the consumer to park
		}
		if rng.IntN(3) == 0 {
			b.consumerStalls = true // the producer fills the ring and parks
			b.cGap = 300 * time.Microsecond
		}
		plan[i] = b
		total += int64(b.n)
	}
	errc := make(chan error, 1)
	go func() {
		seq := int64(0)
		for _, b := range plan {
			time.Sleep(b.prodGap)
			for j := 0; j < b.n; j++ {
				if _, err := p.Publish(ctx, func(e *apiEvent) { e.set(seq) }); err != nil {
					errc <- fmt.Errorf("publish %d (lost wake-up?): %w", seq, err)
					return
				}
				seq++
			}
		}
		errc <- nil
	}()
	seq := int64(0)
	for _, b := range plan {
		if b.consumerStalls {
			time.Sleep(b.cGap)
		}
		for j := 0; j < b.n; j++ {
			ev, err := c.Recv(ctx)
			if err != nil {
				t.Fatalf("Next %d of %d (lost wake-up?): %v", seq, total, err)
			}
			if err := ev.check(seq); err != nil {
				t.Fatal(err)
			}
			seq++
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	cs := st.Consumers[0]
	t.Logf("%d events in %d bursts: producer parks %d, wakes %d; consumer parks %d, wakes %d, empty waits %d",
		total, bursts, st.ProducerParks, st.ProducerWakes, cs.Parks, cs.Wakes, cs.EmptyWaits)
	if cs.Parks == 0 || st.ProducerParks == 0 {
		t.Errorf("a side never parked (producer %d, consumer %d): the stress did not stress the protocol", st.ProducerParks, cs.Parks)
	}
	if st.Published != total {
		t.Errorf("published %d, want %d", st.Published, total)
	}
}
