package snapshot_test

// Multi-process tests: a producer and a consumer process run a known
// workload on a real shm ring of each layer; the test process, which
// never joins the ring, takes snapshots and checks them against the
// workload exactly, then kills the participants and checks that the
// snapshot says so.

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/myelon-go/myelon/codec/raw"
	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/internal/childtest"
	"github.com/myelon-go/myelon/ring"
	"github.com/myelon-go/myelon/snapshot"
	"github.com/myelon-go/myelon/typed"
)

func TestChildProcess(t *testing.T) { childtest.Run(t) }

// workload is what the producer sends: messages of the sizes in turn
// (frame rings; typed rings send one record per message and one garbage
// payload; byte rings send n slots).
type workload struct {
	Name  string
	Layer snapshot.Layer
	N     int
}

// Frame geometry of the workload: 64-byte frames, so a 300-byte message
// takes five.
const payloadCap = 64

var sizes = []int{0, 10, 64, 65, 300}

// record is the typed workload's value: 24 bytes, one frame.
type record struct{ A, B, C uint64 }

var (
	producerRole = childtest.Register("snapshot.producer", runProducer)
	consumerRole = childtest.Register("snapshot.consumer", runConsumer)
)

// runProducer creates the ring, sends the workload once the consumer
// attached, drains, says "sent", and waits for "close" (then closes and
// says "closed") or to be killed.
func runProducer(t *testing.T, ch *childtest.Child, w workload) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var drain, closeRing func() error
	switch w.Layer {
	case snapshot.LayerRing:
		p, err := ring.CreateBytes(w.Name, ring.Config{SlotSize: 64, Capacity: 64})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.WaitForConsumerIDs(ctx, "c1"); err != nil {
			t.Fatal(err)
		}
		for i := range w.N {
			if _, err := p.Send(ctx, []byte{byte(i)}); err != nil {
				t.Fatal(err)
			}
		}
		drain, closeRing = func() error { return p.Drain(ctx) }, p.Close
	case snapshot.LayerFrame:
		p, err := frame.Create(w.Name, frame.Config{PayloadCapacity: payloadCap, Capacity: 64, KeepOnClose: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.WaitForConsumerIDs(ctx, "c1"); err != nil {
			t.Fatal(err)
		}
		for i := range w.N {
			if _, err := p.Send(ctx, 1, make([]byte, sizes[i%len(sizes)])); err != nil {
				t.Fatal(err)
			}
		}
		drain, closeRing = func() error { return p.Drain(ctx) }, p.Close
	case snapshot.LayerTyped:
		p, err := typed.Create(w.Name, raw.MustNew[record](), typed.Config{PayloadCapacity: payloadCap, Capacity: 64})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.WaitForConsumerIDs(ctx, "c1"); err != nil {
			t.Fatal(err)
		}
		for i := range w.N {
			if _, err := p.Send(ctx, &record{A: uint64(i)}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := p.SendEncoded(ctx, 0, []byte("not a record")); err != nil {
			t.Fatal(err)
		}
		drain, closeRing = func() error { return p.Drain(ctx) }, p.Close
	}
	if err := drain(); err != nil {
		t.Fatal(err)
	}
	ch.Say("sent")
	ch.Await("close")
	if err := closeRing(); err != nil {
		t.Fatal(err)
	}
	ch.Say("closed")
}

// runConsumer reads the whole workload, finds the ring empty (its
// counters are then exact in the segment), says "read" and waits to be
// killed.
func runConsumer(t *testing.T, ch *childtest.Child, w workload) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var empty error
	switch w.Layer {
	case snapshot.LayerRing:
		c, err := ring.AttachBytes(ctx, w.Name, ring.ConsumerConfig{ID: "c1"})
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		for range w.N {
			if _, err := c.Recv(ctx, buf); err != nil {
				t.Fatal(err)
			}
		}
		_, empty = c.TryRecv(buf)
	case snapshot.LayerFrame:
		c, err := frame.Attach(ctx, w.Name, frame.ConsumerConfig{ID: "c1"})
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 512)
		for range w.N {
			if _, _, err := c.Recv(ctx, buf); err != nil {
				t.Fatal(err)
			}
		}
		_, _, empty = c.TryRecv(buf)
	case snapshot.LayerTyped:
		c, err := typed.Attach(ctx, w.Name, raw.MustNew[record](), typed.ConsumerConfig{ID: "c1"})
		if err != nil {
			t.Fatal(err)
		}
		var v record
		for range w.N {
			if _, err := c.Recv(ctx, &v); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.Recv(ctx, &v); !errors.Is(err, typed.ErrDecode) {
			t.Fatalf("the garbage payload: %v, want a decode error", err)
		}
		_, empty = c.TryRecv(&v)
	}
	if !errors.Is(empty, ring.ErrEmpty) {
		t.Fatalf("after the workload: %v, want ErrEmpty", empty)
	}
	ch.Say("read")
	ch.Await("exit")
}

// TestSnapshot_Process_Workloads: for a ring, frame and typed ring, the
// snapshot taken from outside matches the workload exactly: layer,
// geometry, positions, messages, fragments, bytes, decode errors, the
// error log, and each participant alive; then a SIGKILLed consumer shows
// dead (its entry still active), a closed ring Closed, and a ring whose
// producer was SIGKILLed Stale.
func TestSnapshot_Process_Workloads(t *testing.T) {
	for _, layer := range []snapshot.Layer{snapshot.LayerRing, snapshot.LayerFrame, snapshot.LayerTyped} {
		t.Run(string(layer), func(t *testing.T) {
			w := workload{Name: ring.PortableName("snap"), Layer: layer, N: 100}
			t.Cleanup(func() { ring.Reclaim(ring.Shm, w.Name) })
			prod := producerRole.Start(t, w)
			cons := consumerRole.Start(t, w)
			cons.Expect("read")
			prod.Expect("sent")

			s, err := snapshot.Take(ring.Shm, w.Name)
			if err != nil {
				t.Fatal(err)
			}
			if s.State != snapshot.Ready || !s.Alive || s.Layer != layer {
				t.Fatalf("state %s alive %v layer %s, want ready, alive, %s", s.State, s.Alive, s.Layer, layer)
			}
			if len(s.Stats.Consumers) != 1 || len(s.Consumers) != len(s.Stats.Consumers) && layer != snapshot.LayerRing {
				t.Fatalf("consumers: %+v", s.Stats.Consumers)
			}
			c := s.Stats.Consumers[0]
			if c.ID != "c1" || !c.Alive || c.PID != uint32(cons.Pid()) || c.Lag != 0 || c.Position != s.Stats.Published-1 {
				t.Errorf("consumer %+v (published %d, pid %d)", c, s.Stats.Published, cons.Pid())
			}
			checkLayer(t, s, w)

			cons.Kill()
			if s = take(t, w.Name); s.Stats.Consumers[0].Alive || s.Stats.Consumers[0].State != "active" {
				t.Errorf("SIGKILLed consumer: %+v, want active and not alive", s.Stats.Consumers[0])
			}
			if layer == snapshot.LayerFrame {
				prod.Send("close")
				prod.Expect("closed")
				if s = take(t, w.Name); s.State != snapshot.Closed {
					t.Errorf("after Close: state %s, want closed", s.State)
				}
				return
			}
			prod.Kill()
			if !prod.KilledBy(syscall.SIGKILL) {
				t.Fatal("producer not killed")
			}
			if s = take(t, w.Name); s.State != snapshot.Stale || s.Alive {
				t.Errorf("after the producer's SIGKILL: state %s alive %v, want stale, dead", s.State, s.Alive)
			}
		})
	}
}

func take(t *testing.T, name string) *snapshot.Ring {
	t.Helper()
	s, err := snapshot.Take(ring.Shm, name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkLayer compares the layer counters with what w sent.
func checkLayer(t *testing.T, s *snapshot.Ring, w workload) {
	t.Helper()
	switch w.Layer {
	case snapshot.LayerRing:
		if s.Stats.Published != int64(w.N) || s.Frame != nil || s.Producer != nil {
			t.Errorf("byte ring: published %d frame %v producer %v, want %d, none, none", s.Stats.Published, s.Frame, s.Producer, w.N)
		}
		return
	case snapshot.LayerTyped:
		// One frame per record, plus the garbage payload.
		want := frame.ProducerStats{Messages: uint64(w.N + 1), Fragments: uint64(w.N + 1), Bytes: uint64(w.N*24 + len("not a record"))}
		if got := *s.Producer.FrameProducer; got.Messages != want.Messages || got.Fragments != want.Fragments || got.Bytes != want.Bytes {
			t.Errorf("typed producer frame counters %+v, want %+v", got, want)
		}
		tc := s.Consumers[0].TypedConsumer
		if tc == nil || tc.DecodeErrors != 1 || tc.Frame.Messages != uint64(w.N+1) || tc.Frame.Bytes != want.Bytes {
			t.Errorf("typed consumer counters %+v, want 1 decode error and %d messages", tc, w.N+1)
		}
		if s.Schema == nil || s.Schema.Codec != raw.CodecName {
			t.Errorf("schema %v, want the raw codec's", s.Schema)
		}
		if !logged(s, typed.ErrorKindDecode, 1) {
			t.Errorf("error log %+v: want one decode error", s.Stats.Errors)
		}
		return
	}
	var want frame.ProducerStats
	for i := range w.N {
		n := sizes[i%len(sizes)]
		frames := max((n+payloadCap-1)/payloadCap, 1)
		want.Messages++
		want.Fragments += uint64(frames)
		want.Bytes += uint64(n)
		if frames > 1 {
			want.MultiFrame++
		}
	}
	got := *s.Producer.FrameProducer
	if got.Messages != want.Messages || got.Fragments != want.Fragments || got.Bytes != want.Bytes || got.MultiFrame != want.MultiFrame {
		t.Errorf("frame producer counters %+v, want %+v", got, want)
	}
	fc := *s.Consumers[0].FrameConsumer
	if fc.Messages != want.Messages || fc.Fragments != want.Fragments || fc.Bytes != want.Bytes || fc.MultiFrame != want.MultiFrame || fc.ReassemblyErrors != 0 {
		t.Errorf("frame consumer counters %+v, want %+v", fc, want)
	}
	if s.Frame == nil || s.Frame.PayloadCapacity != payloadCap || s.Stats.Published != int64(want.Fragments) {
		t.Errorf("frame geometry %+v, published %d; want payload %d, %d frames", s.Frame, s.Stats.Published, payloadCap, want.Fragments)
	}
}

func logged(s *snapshot.Ring, k ring.ErrorKind, n uint64) bool {
	for _, e := range s.Stats.Errors {
		if e.Kind == k {
			return e.Count == n
		}
	}
	return false
}
