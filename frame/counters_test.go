package frame

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/myelon-go/myelon/ring"
)

// TestCounters_InSegment_ExactWhenIdle: after a stream of single- and
// multi-frame messages, a ring.Inspect from outside the handles reads
// the producer's and the consumer's framing counters exactly as their own
// Stats count them, once each side has been idle (the consumer found the
// ring empty; the producer drained), and not before every flush point.
func TestCounters_InSegment_ExactWhenIdle(t *testing.T) {
	p, c := heapPair(t, Config{Capacity: 64, PayloadCapacity: 64}, ConsumerConfig{ID: "c"})
	ctx := context.Background()
	const n = 100 // not a multiple of flushEvery: the tail is flushed by idleness
	sizes := []int{0, 10, 64, 65, 300}
	buf := make([]byte, 512)
	for i := range n {
		if _, err := p.Send(ctx, uint8(i), payloadFor(uint64(i), sizes[i%len(sizes)])); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Recv(ctx, buf); err != nil {
			t.Fatal(err)
		}
	}
	inspect := func() ring.Stats {
		t.Helper()
		_, st, err := ring.Inspect(ring.Heap, p.Info().Name)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Consumers) != 1 {
			t.Fatalf("consumers: %+v", st.Consumers)
		}
		return st
	}
	// Busy so far: the segment holds the counts of the last flush, at
	// message 64.
	st := inspect()
	if got := ConsumerStatsOf(st.Consumers[0].Layer).Messages; got != flushEvery {
		t.Errorf("consumer messages in the segment while streaming: %d, want %d", got, flushEvery)
	}
	if got := ProducerStatsOf(st.ProducerLayer).Messages; got != flushEvery {
		t.Errorf("producer messages in the segment while streaming: %d, want %d", got, flushEvery)
	}
	// Idle: the consumer finds the ring empty, the producer drains.
	if _, _, err := c.TryRecv(buf); !errors.Is(err, ErrEmpty) {
		t.Fatalf("TryRecv on an empty ring: %v", err)
	}
	if err := p.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	st = inspect()
	wantP, wantC := p.stats, c.stats
	wantP.Ring, wantC.Ring = ring.Stats{}, ring.Stats{}
	if got := ProducerStatsOf(st.ProducerLayer); !reflect.DeepEqual(got, wantP) {
		t.Errorf("producer counters in the segment:\n got %+v\nwant %+v", got, wantP)
	}
	if got := ConsumerStatsOf(st.Consumers[0].Layer); !reflect.DeepEqual(got, wantC) {
		t.Errorf("consumer counters in the segment:\n got %+v\nwant %+v", got, wantC)
	}
	if wantP.Messages != n || wantC.Messages != n || wantP.MultiFrame == 0 || wantC.Bytes != wantP.Bytes {
		t.Errorf("the handles' own counts are off: producer %+v consumer %+v", wantP, wantC)
	}
}

// TestCounters_ProtocolErrorLogged: a garbage frame a peer wrote shows in
// the ring's error log and in the consumer's shared counters.
func TestCounters_ProtocolErrorLogged(t *testing.T) {
	p, c := heapPair(t, Config{Capacity: 8, PayloadCapacity: 64}, ConsumerConfig{ID: "c"})
	ctx := context.Background()
	seq, err := p.rp.Claim(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	slot := p.rp.Slot(seq)
	for i := range slot {
		slot[i] = 0xff
	}
	p.rp.Commit()
	if _, _, err := c.Recv(ctx, make([]byte, 64)); !errors.Is(err, ErrProtocol) {
		t.Fatalf("Recv of a garbage frame: %v", err)
	}
	if _, _, err := c.TryRecv(make([]byte, 64)); !errors.Is(err, ErrEmpty) {
		t.Fatalf("TryRecv after it: %v", err)
	}
	_, st, err := ring.Inspect(ring.Heap, p.Info().Name)
	if err != nil {
		t.Fatal(err)
	}
	if got := ConsumerStatsOf(st.Consumers[0].Layer).ReassemblyErrors; got != 1 {
		t.Errorf("reassembly errors in the segment: %d, want 1", got)
	}
	var logged bool
	for _, e := range st.Errors {
		logged = logged || e.Kind == ErrorKindProtocol && e.Count == 1
	}
	if !logged {
		t.Errorf("error log %+v has no protocol error", st.Errors)
	}
}
