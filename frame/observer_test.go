package frame

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/myelon-go/myelon/internal/childtest"
	"github.com/myelon-go/myelon/ring"
)

// attachObserver attaches an observer to a Heap frame ring.
func attachObserver(t *testing.T, name string, cfg ConsumerConfig) *Consumer {
	t.Helper()
	cfg.Backend = ring.Heap
	cfg.Observer = true
	o, err := Attach(context.Background(), name, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// TestObserver_Heap_ReceivePaths: an observer that keeps up receives every
// message, single- and multi-frame, through every receive path, without
// gating the producer.
func TestObserver_Heap_ReceivePaths(t *testing.T) {
	const capacity = 16
	name := heapName(t)
	p, err := Create(name, Config{PayloadCapacity: capacity, Aligned: true, Timestamps: true, Backend: ring.Heap, Capacity: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	o := attachObserver(t, name, ConsumerConfig{Aligned: true, ID: "obs"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sizes := []int{0, 5, 16, 17, 40, 33, 1, 16}
	send := func(from, to int) {
		for i := from; i < to; i++ {
			if id := mustSend(t, p, uint8(i), payloadFor(uint64(i), sizes[i])); id != uint64(i+1) {
				t.Fatalf("id %d", id)
			}
		}
	}
	check := func(path string, i int, m Meta, b []byte) {
		t.Helper()
		if m.ID != uint64(i+1) || m.Kind != uint8(i) || m.Sent == 0 || !bytes.Equal(b, payloadFor(uint64(i), sizes[i])) {
			t.Fatalf("%s: message %d: %+v, %d bytes", path, i, m, len(b))
		}
		borrowed := path == "Read" || path == "TryProcess" || path == "All"
		if borrowed && len(b) > 0 && misalignment(b) != 0 {
			t.Fatalf("%s: message %d: payload off a 16-byte boundary", path, i)
		}
	}
	if _, _, err := o.TryRecv(make([]byte, 64)); err != ErrEmpty {
		t.Fatalf("TryRecv on an empty ring: %v", err)
	}
	send(0, 4)
	// A short buffer leaves the message unread (the frame stays in the
	// observer's scratch slot).
	if _, _, err := o.TryRecv(make([]byte, 2)); err != nil {
		t.Fatalf("TryRecv of an empty message: %v", err)
	}
	dst := make([]byte, 64)
	var sb *ShortBufferError
	if _, _, err := o.Recv(ctx, dst[:3]); !errors.As(err, &sb) || sb.Need != 5 {
		t.Fatalf("Recv into 3 bytes: %v", err)
	}
	n, m, err := o.Recv(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	check("Recv", 1, m, dst[:n])
	if err := o.Read(ctx, func(m Meta, b []byte) error { check("Read", 2, m, b); return nil }); err != nil {
		t.Fatal(err)
	}
	got, m, err := o.RecvAppend(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	check("RecvAppend", 3, m, got)
	// A batch drain goes on frame by frame without waiting.
	send(4, 7)
	i := 4
	k, err := o.TryProcess(0, func(m Meta, b []byte) error { check("TryProcess", i, m, b); i++; return nil })
	if k != 3 || err != nil {
		t.Fatalf("TryProcess: %d messages, %v; want 3", k, err)
	}
	send(7, 8)
	p.Close()
	for m, b := range o.All(ctx) {
		check("All", i, m, b)
		i++
	}
	if o.Err() != nil || i != len(sizes) {
		t.Fatalf("All ended at message %d: %v", i, o.Err())
	}
	if st := o.Stats(); st.Messages != uint64(len(sizes)) || st.MultiFrame != 3 || st.Lapped != 0 || st.ReassemblyErrors != 0 || st.SkippedFrames != 0 {
		t.Fatalf("stats %+v", st)
	}
	var obs bool
	for _, cs := range o.Stats().Ring.Consumers {
		obs = obs || cs.ID == "obs" && cs.Observer
	}
	if !obs {
		t.Fatalf("the ring does not list obs as an observer: %+v", o.Stats().Ring.Consumers)
	}
}

// TestObserver_Heap_NeverGates: with only an observer attached the
// producer never waits, however far behind the observer is.
func TestObserver_Heap_NeverGates(t *testing.T) {
	name := heapName(t)
	p, err := Create(name, Config{PayloadCapacity: 8, Backend: ring.Heap, Capacity: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	attachObserver(t, name, ConsumerConfig{})
	for i := range 100 {
		if _, err := p.TrySend(0, payloadFor(uint64(i), 20)); err != nil {
			t.Fatalf("TrySend %d with only an observer attached: %v", i, err)
		}
	}
}

// TestObserver_Heap_LapDropsPartialMessage: an observer has read the first
// frames of a message whose rest is not published yet when the producer
// laps it. It gets ErrLapped (a *ring.LappedError), never the partial
// message, and resumes at the next message start after the resume point,
// counting the continuation frames it skipped.
func TestObserver_Heap_LapDropsPartialMessage(t *testing.T) {
	const capacity, slots = 8, 8
	name := heapName(t)
	p, err := Create(name, Config{PayloadCapacity: capacity, Backend: ring.Heap, Capacity: slots})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	o := attachObserver(t, name, ConsumerConfig{ID: "obs"})
	ctx := context.Background()
	// Message 1: the first chunk (frames 0-3, sequences 0-3) of a 10-frame
	// message, published as Send publishes a message larger than the ring.
	big := payloadFor(0, 10*capacity)
	h := Header{MsgLen: uint32(len(big)), ID: 1}
	lo, err := p.r.Claim(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	p.fill(lo, 0, 4, &h, big, 0)
	p.r.Commit()
	p.id = 1
	dst := make([]byte, 10*capacity)
	if _, _, err := o.TryRecv(dst); err != ErrEmpty {
		t.Fatalf("observer mid-message: %v, want ErrEmpty", err)
	}
	if st := o.Stats(); st.Fragments != 4 || st.MultiFrame != 1 || st.Messages != 0 {
		t.Fatalf("observer stats mid-message %+v, want 4 fragments of one message in progress", st)
	}
	// Six 3-frame messages (sequences 4-21) lap the observer at 4.
	first := map[int64]int{}
	sizes := map[int]int{}
	for i := 1; i <= 6; i++ {
		first[int64(1+3*i)] = i
		sizes[i] = 2*capacity + 1 + sizeFor(uint64(i), capacity-1) // 3 frames
		mustSend(t, p, uint8(i), payloadFor(uint64(i), sizes[i]))
	}
	_, _, err = o.TryRecv(dst)
	var le *ring.LappedError
	if !errors.Is(err, ErrLapped) || !errors.As(err, &le) {
		t.Fatalf("lapped observer: %v, want a *ring.LappedError", err)
	}
	var want []int
	skip := int64(-1)
	for s := le.ResumeAt; s < 22; s++ {
		if i, ok := first[s]; ok {
			want = append(want, i)
			if skip < 0 {
				skip = s - le.ResumeAt
			}
		}
	}
	var got []int
	for {
		n, m, err := o.TryRecv(dst)
		if err == ErrEmpty {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		i := int(m.Kind)
		if first[m.Seq] != i || m.ID != uint64(i+1) || !bytes.Equal(dst[:n], payloadFor(uint64(i), sizes[i])) {
			t.Fatalf("observer: message %d corrupt (%+v, %d bytes)", i, m, n)
		}
		got = append(got, i)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("resumed at %d: got messages %v, want %v", le.ResumeAt, got, want)
	}
	st := o.Stats()
	if st.Lapped != 1 || st.ReassemblyErrors != 0 || st.SkippedFrames != uint64(skip) || st.Messages != uint64(len(want)) {
		t.Fatalf("observer stats %+v, want 1 lap, %d skipped frames, %d messages", st, skip, len(want))
	}
	if skip == 0 {
		t.Fatalf("resumed at %d, a message start: the resync path was not exercised", le.ResumeAt)
	}
	t.Logf("lapped 4 frames into message 1 (missed %d); resumed at %d, skipped %d frames, then messages %v", le.Missed, le.ResumeAt, skip, got)
}

// TestObserver_Shm_SlowObserverNeverTorn: fast producers and a slow
// observer on a small ring, nothing gating the producers. The observer is
// lapped again and again. Every message it delivers must be intact (self
// checking payload of the size its id implies), each producer's ids must
// increase, and a message may be missing only where a lap was reported;
// there must be no protocol error (a torn frame would be one, or a corrupt
// message). Shm backend, in one process: the race detector would rightly
// flag the racing copies that the ring's check exists to catch.
func TestObserver_Shm_SlowObserverNeverTorn(t *testing.T) {
	for _, producers := range []int{1, 2} {
		t.Run(fmt.Sprintf("producers=%d", producers), func(t *testing.T) {
			const capacity, maxSize = 64, 3 * 64
			n := uint64(60_000)
			if testing.Short() {
				n = 10_000
			}
			name := ring.PortableName("fo")
			cfg := Config{PayloadCapacity: capacity, Capacity: 16, LivenessInterval: 20 * time.Millisecond}
			if producers > 1 {
				cfg.MaxProducers = producers
			}
			p0, err := Create(name, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer p0.Close()
			ps := []*Producer{p0}
			for range producers - 1 {
				pj, err := Join(context.Background(), name, JoinConfig{})
				if err != nil {
					t.Fatal(err)
				}
				defer pj.Close()
				ps = append(ps, pj)
			}
			o, err := Attach(context.Background(), name, ConsumerConfig{ID: "obs", Observer: true, Wait: ring.Yield})
			if err != nil {
				t.Fatal(err)
			}
			defer o.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			var wg sync.WaitGroup
			defer func() { cancel(); wg.Wait() }() // before the Close calls deferred above
			done := make(chan error, producers)
			for k, p := range ps {
				wg.Go(func() {
					b := make([]byte, maxSize)
					for i := range n {
						m := b[:mpSize(uint64(k), i, maxSize)]
						mpPayload(m, uint64(k), i)
						if _, err := p.Send(ctx, uint8(k), m); err != nil {
							done <- fmt.Errorf("producer %d message %d: %w", k, i, err)
							return
						}
					}
					done <- nil
				})
			}
			wg.Go(func() {
				var err error
				for range producers {
					err = errors.Join(err, <-done)
				}
				p0.Close() // end of stream once the observer has read what it can
				done <- err
			})
			tally, err := observeAll(ctx, o, producers, maxSize, 2000)
			if err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if err := tally.check(o.Stats()); err != nil {
				t.Fatal(err)
			}
			t.Logf("of %d messages: %v", uint64(producers)*n, &tally)
		})
	}
}

// observeTally is what observeAll saw.
type observeTally struct {
	laps, delivered, gaps uint64
	st                    ConsumerStats
}

func (o *observeTally) String() string {
	return fmt.Sprintf("%d delivered whole, %d laps (%d gaps in ids), %d continuation frames skipped to resynchronise",
		o.delivered, o.laps, o.gaps, o.st.SkippedFrames)
}

// check compares the tally with the consumer's counters and requires laps.
func (o *observeTally) check(st ConsumerStats) error {
	o.st = st
	if st.ReassemblyErrors != 0 || st.Lapped != o.laps || st.Messages != o.delivered {
		return fmt.Errorf("stats %+v; saw %d laps, %d messages", st, o.laps, o.delivered)
	}
	if o.laps == 0 {
		return errors.New("the observer was never lapped: the test did not exercise the lap path")
	}
	return nil
}

// observeAll reads messages from producers (Kind = producer, mpPayload
// content) with an observer until end of stream, dawdling after each one
// so that the producers lap it. Every message must be whole and intact,
// each producer's ids must increase, and one may skip ids only after a lap
// report.
func observeAll(ctx context.Context, o *Consumer, producers, maxSize, dawdle int) (observeTally, error) {
	var tally observeTally
	last := make([]uint64, producers) // last id delivered per producer
	gapOK := make([]bool, producers)  // per producer: a lap was reported since its last delivery
	want := make([]byte, maxSize)
	for {
		err := o.Read(ctx, func(m Meta, b []byte) error {
			k := int(m.Kind)
			if k >= producers || m.ID <= last[k] {
				return fmt.Errorf("message %+v after id %d of producer %d", m, last[k], k)
			}
			if m.ID != last[k]+1 {
				if !gapOK[k] {
					return fmt.Errorf("producer %d: id %d after %d with no lap reported", k, m.ID, last[k])
				}
				tally.gaps++
			}
			i := m.ID - 1
			w := want[:mpSize(uint64(k), i, maxSize)]
			mpPayload(w, uint64(k), i)
			if !bytes.Equal(b, w) {
				return fmt.Errorf("producer %d message %d: torn or corrupt (%d bytes, want %d)", k, i, len(b), len(w))
			}
			last[k], gapOK[k] = m.ID, false
			tally.delivered++
			for j := range dawdle {
				if j%500 == 0 {
					runtime.Gosched()
				}
			}
			return nil
		})
		switch {
		case errors.Is(err, ErrLapped):
			var le *ring.LappedError
			if !errors.As(err, &le) || le.Missed <= 0 {
				return tally, fmt.Errorf("lap report %v", err)
			}
			tally.laps++
			for k := range gapOK {
				gapOK[k] = true
			}
		case errors.Is(err, ErrEndOfStream):
			return tally, nil
		case err != nil:
			return tally, fmt.Errorf("after %d messages: %w", tally.delivered, err)
		}
	}
}

var slowObserverRole = childtest.Register("frame.slow-observer", slowObserver)

// slowObserver observes ring a.Ring, slowly, to the end of the stream.
func slowObserver(t *testing.T, ch *childtest.Child, a childArgs) {
	const maxSize = 3 * 64
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	o, err := Attach(context.Background(), a.Ring, ConsumerConfig{ID: "obs", Observer: true, Wait: ring.Block})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	tally, err := observeAll(ctx, o, 1, maxSize, 20000)
	if err == nil {
		err = tally.check(o.Stats())
	}
	if err != nil {
		t.Fatal(err)
	}
	ch.Logf("observer: %v", &tally)
}

// TestFrame_Process_SlowObserver: the observer is another process, slow,
// on a small ring that nothing else gates; the producer runs free. The
// observer is lapped again and again and never delivers a torn, corrupt or
// silently missing message.
func TestFrame_Process_SlowObserver(t *testing.T) {
	const capacity, maxSize = 64, 3 * 64
	n := 100_000
	if testing.Short() {
		n = 20_000
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := ring.PortableName("fp")
	p, err := Create(name, Config{PayloadCapacity: capacity, Capacity: 32})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	obs := slowObserverRole.Start(t, childArgs{Ring: name}, childtest.Options{Life: 30 * time.Second})
	waitConsumers(t, ctx, name, "obs")
	b := make([]byte, maxSize)
	for i := range uint64(n) {
		m := b[:mpSize(0, i, maxSize)]
		mpPayload(m, 0, i)
		if _, err := p.TrySend(0, m); err != nil {
			t.Fatalf("message %d: %v (an observer must never gate)", i, err)
		}
	}
	p.Close()
	obs.Wait()
}

// TestObserver_ZeroAllocs: an observer's receive paths and a managed send
// allocate nothing once warm.
func TestObserver_ZeroAllocs(t *testing.T) {
	p, c := heapPair(t, Config{PayloadCapacity: 64, Capacity: 64}, ConsumerConfig{ID: "r"})
	if err := p.Require(ring.RequiredConfig{IDs: []string{"r"}}); err != nil {
		t.Fatal(err)
	}
	o, err := Attach(context.Background(), p.Info().Name, ConsumerConfig{Backend: ring.Heap, Observer: true})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	ctx := context.Background()
	small, big := payloadFor(1, 48), payloadFor(2, 1000)
	dst := make([]byte, 1024)
	var sink int
	read := func(m Meta, b []byte) error { sink += len(b); return nil }
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"SendManaged+observer Read/single-frame", func() { p.Send(ctx, 0, small); o.Read(ctx, read); c.Read(ctx, read) }},
		{"SendManaged+observer Read/multi-frame", func() { p.Send(ctx, 0, big); o.Read(ctx, read); c.Read(ctx, read) }},
		{"SendManaged+observer Recv/multi-frame", func() { p.Send(ctx, 0, big); o.Recv(ctx, dst); c.Recv(ctx, dst) }},
		{"SendManaged+observer TryRecv/single-frame", func() { p.Send(ctx, 0, small); o.TryRecv(dst); c.TryRecv(dst) }},
		{"SendManaged+observer TryProcess", func() {
			p.Send(ctx, 0, small)
			p.Send(ctx, 0, big)
			o.TryProcess(0, read)
			c.TryProcess(0, read)
		}},
	} {
		tc.f() // warm up (grows the reassembly buffers once)
		if n := testing.AllocsPerRun(200, tc.f); n != 0 {
			t.Errorf("%s: %v allocs per run, want 0", tc.name, n)
		}
	}
	if st := o.Stats(); st.ReassemblyErrors != 0 || st.Lapped != 0 || st.Messages != c.Stats().Messages {
		t.Fatalf("observer stats %+v, consumer %+v", st, c.Stats())
	}
	_ = sink
}
