package frame

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/myelon-go/myelon/ring"
)

// heapPair creates a frame ring on the Heap backend and attaches one
// consumer.
func heapPair(t testing.TB, cfg Config, ccfg ConsumerConfig) (*Producer, *Consumer) {
	t.Helper()
	name := heapName(t)
	cfg.Backend = ring.Heap
	p, err := Create(name, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	ccfg.Backend = ring.Heap
	c, err := Attach(context.Background(), name, ccfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return p, c
}

// TestFrame_Heap_RoundTrip_AllPaths sends messages of sizes around every
// multiple of the frame capacity, up to several times the ring, and reads
// each through every receive path.
func TestFrame_Heap_RoundTrip_AllPaths(t *testing.T) {
	const capacity, slots = 24, 8
	sizes := append(sizesAround(capacity, 4), slots*capacity-1, slots*capacity, slots*capacity+1, 5*slots*capacity+7)
	paths := []struct {
		name string
		recv func(ctx context.Context, c *Consumer) ([]byte, Meta, error)
	}{
		{"Recv", func(ctx context.Context, c *Consumer) ([]byte, Meta, error) {
			dst := make([]byte, 8<<10)
			n, m, err := c.Recv(ctx, dst)
			return dst[:n], m, err
		}},
		{"RecvAppend", func(ctx context.Context, c *Consumer) ([]byte, Meta, error) {
			return c.RecvAppend(ctx, []byte("prefix"))
		}},
		{"Read", func(ctx context.Context, c *Consumer) (out []byte, meta Meta, err error) {
			err = c.Read(ctx, func(m Meta, p []byte) error { out, meta = bytes.Clone(p), m; return nil })
			return
		}},
		{"Process", func(ctx context.Context, c *Consumer) (out []byte, meta Meta, err error) {
			_, err = c.Process(ctx, 1, func(m Meta, p []byte) error { out, meta = bytes.Clone(p), m; return nil })
			return
		}},
	}
	for _, path := range paths {
		t.Run(path.name, func(t *testing.T) {
			p, c := heapPair(t, Config{PayloadCapacity: capacity, Capacity: slots, Timestamps: true}, ConsumerConfig{})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			errc := make(chan error, 1)
			go func() {
				for i, size := range sizes {
					if _, err := p.SendFlags(ctx, uint8(i), uint8(size), payloadFor(uint64(i), size)); err != nil {
						errc <- err
						return
					}
				}
				errc <- nil
			}()
			for i, size := range sizes {
				got, m, err := path.recv(ctx, c)
				if err != nil {
					t.Fatalf("%s: %v", sizeName(size), err)
				}
				if path.name == "RecvAppend" {
					if !bytes.HasPrefix(got, []byte("prefix")) {
						t.Fatalf("RecvAppend lost the prefix")
					}
					got = got[6:]
				}
				want := payloadFor(uint64(i), size)
				if !bytes.Equal(got, want) {
					t.Fatalf("%s: payload differs", sizeName(size))
				}
				if m.ID != uint64(i+1) || m.Kind != uint8(i) || m.Flags != uint8(size) {
					t.Fatalf("%s: meta %+v", sizeName(size), m)
				}
				if _, ok := m.Latency(); !ok || m.Sent == 0 || m.Received == 0 {
					t.Fatalf("%s: no latency in %+v", sizeName(size), m)
				}
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			ps, cs := p.Stats(), c.Stats()
			if ps.Messages != uint64(len(sizes)) || cs.Messages != ps.Messages || cs.Bytes != ps.Bytes || cs.Fragments != ps.Fragments || cs.ReassemblyErrors != 0 {
				t.Fatalf("producer %+v, consumer %+v", ps, cs)
			}
			if ps.Chunked != 2 {
				t.Fatalf("Chunked = %d, want 2 (two messages larger than the ring)", ps.Chunked)
			}
		})
	}
}

// TestFrame_Heap_LateJoin_StartsAtNextMessage attaches consumers whose
// first sequence falls inside a message: each skips to the next message
// start without an error and counts the frames it skipped.
func TestFrame_Heap_LateJoin_StartsAtNextMessage(t *testing.T) {
	name := heapName(t)
	p, err := Create(name, Config{PayloadCapacity: 16, Backend: ring.Heap, Capacity: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// Hold the producer's frames in the ring with a consumer that reads
	// nothing yet.
	hold, err := Attach(context.Background(), name, ConsumerConfig{Backend: ring.Heap, ID: "hold"})
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	ctx := context.Background()
	mustSend(t, p, 1, payloadFor(1, 40)) // seqs 0-2
	mustSend(t, p, 2, payloadFor(2, 5))  // seq 3
	for start := int64(0); start <= 3; start++ {
		c, err := Attach(context.Background(), name, ConsumerConfig{Backend: ring.Heap, Start: ring.StartAt(start)})
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]byte, 64)
		n, m, err := c.TryRecv(dst)
		if err != nil {
			t.Fatalf("start %d: %v", start, err)
		}
		wantKind, wantLate := uint8(1), uint64(0)
		if start > 0 {
			wantKind, wantLate = 2, uint64(3-start)
		}
		if m.Kind != wantKind || !bytes.Equal(dst[:n], payloadFor(uint64(wantKind), n)) {
			t.Fatalf("start %d: got kind %d, want %d", start, m.Kind, wantKind)
		}
		if st := c.Stats(); st.LateJoinFrames != wantLate || st.ReassemblyErrors != 0 {
			t.Fatalf("start %d: stats %+v, want %d late-join frames", start, st, wantLate)
		}
		c.Close()
	}
	_ = ctx
}

// TestFrame_Heap_ResumeByID_MidMessage: a consumer that closes in the
// middle of a message it has partly read, and rejoins under its id,
// resumes at the next whole message.
func TestFrame_Heap_ResumeByID_MidMessage(t *testing.T) {
	name := heapName(t)
	p, err := Create(name, Config{PayloadCapacity: 8, Backend: ring.Heap, Capacity: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	cc := ConsumerConfig{Backend: ring.Heap, ID: "r"}
	c, err := Attach(context.Background(), name, cc)
	if err != nil {
		t.Fatal(err)
	}
	mustSend(t, p, 1, payloadFor(1, 30)) // 4 frames
	mustSend(t, p, 2, payloadFor(2, 3))
	// Read two frames of the first message by hand and release them, as a
	// consumer killed mid-message would have.
	rc := c.rc
	lo, _, err := rc.TryWait()
	if err != nil {
		t.Fatal(err)
	}
	rc.ReleaseThrough(lo + 1)
	c.Close()
	c, err = Attach(context.Background(), name, cc)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dst := make([]byte, 64)
	n, m, err := c.TryRecv(dst)
	if err != nil || m.Kind != 2 || !bytes.Equal(dst[:n], payloadFor(2, 3)) {
		t.Fatalf("after resume: %v %+v", err, m)
	}
	if st := c.Stats(); st.LateJoinFrames != 2 || st.ReassemblyErrors != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestFrame_Heap_ShortBuffer_LeavesMessage(t *testing.T) {
	for _, size := range []int{10, 100} { // single- and multi-frame
		t.Run(sizeName(size), func(t *testing.T) {
			p, c := heapPair(t, Config{PayloadCapacity: 32, Capacity: 16}, ConsumerConfig{})
			want := payloadFor(5, size)
			mustSend(t, p, 0, want)
			small := make([]byte, size-1)
			_, _, err := c.TryRecv(small)
			var sb *ShortBufferError
			if !errors.As(err, &sb) || !errors.Is(err, ErrShortBuffer) || sb.Need != size || sb.Have != size-1 {
				t.Fatalf("TryRecv(short) = %v", err)
			}
			if _, _, err := c.TryRecv(small); !errors.As(err, &sb) {
				t.Fatalf("again: %v", err)
			}
			dst := make([]byte, size)
			n, _, err := c.TryRecv(dst)
			if err != nil || !bytes.Equal(dst[:n], want) {
				t.Fatalf("TryRecv(enough) = %d, %v", n, err)
			}
			if st := c.Stats(); st.Messages != 1 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestFrame_Heap_TryAndTimeout_OnEmpty(t *testing.T) {
	p, c := heapPair(t, Config{PayloadCapacity: 32, Capacity: 4}, ConsumerConfig{Wait: ring.Yield})
	dst := make([]byte, 32)
	if _, _, err := c.TryRecv(dst); err != ErrEmpty {
		t.Fatalf("TryRecv = %v", err)
	}
	if err := c.TryRead(func(Meta, []byte) error { return nil }); err != ErrEmpty {
		t.Fatalf("TryRead = %v", err)
	}
	if n, err := c.TryProcess(0, func(Meta, []byte) error { return nil }); n != 0 || err != ErrEmpty {
		t.Fatalf("TryProcess = %d, %v", n, err)
	}
	// A deadline is a context: the waiting calls end with its error.
	dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer dcancel()
	if _, _, err := c.Recv(dctx, dst); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recv past its deadline = %v", err)
	}
	if err := c.Read(dctx, func(Meta, []byte) error { return nil }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read past its deadline = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := c.Recv(ctx, dst); !errors.Is(err, context.Canceled) {
		t.Fatalf("Recv(cancelled) = %v", err)
	}
	// Fill the ring: TrySend reports ErrFull.
	for i := 0; ; i++ {
		_, err := p.TrySend(0, []byte("x"))
		if err == ErrFull {
			break
		}
		if err != nil || i > 4 {
			t.Fatalf("TrySend %d: %v", i, err)
		}
	}
	if _, err := p.TrySend(0, make([]byte, 5*32)); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("TrySend(larger than ring) = %v", err)
	}
	n, err := c.TryProcess(0, func(Meta, []byte) error { return nil })
	if n != 4 || err != nil {
		t.Fatalf("TryProcess drained %d, %v; want 4", n, err)
	}
}

func TestFrame_Heap_MaxMessageSize(t *testing.T) {
	p, c := heapPair(t, Config{PayloadCapacity: 16, MaxMessageSize: 40, Capacity: 16}, ConsumerConfig{})
	var se *SizeError
	if _, err := p.Send(context.Background(), 0, make([]byte, 41)); !errors.As(err, &se) || se.Max != 40 || se.Size != 41 {
		t.Fatalf("Send(41) = %v", err)
	}
	mustSend(t, p, 0, make([]byte, 40))
	if g := c.Geometry(); g.MaxMessageSize != 40 || g.PayloadCapacity != 16 || g.Capacity != 16 || g.SlotSize != 48 {
		t.Fatalf("geometry %+v", g)
	}
	if st := p.Stats(); st.Messages != 1 || st.Fragments != 3 {
		t.Fatalf("stats %+v", st)
	}
}

// TestFrame_Heap_MultiProducerRing: on a multi-producer ring a message may
// not exceed the ring; one that fits goes through whole.
func TestFrame_Heap_MultiProducerRing(t *testing.T) {
	p, c := heapPair(t, Config{PayloadCapacity: 16, Capacity: 8, MaxProducers: 2}, ConsumerConfig{})
	if g := p.Geometry(); !g.MultiProducer || g.MaxMessageSize != 128 {
		t.Fatalf("geometry %+v", g)
	}
	if _, err := p.Send(context.Background(), 0, make([]byte, 129)); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("Send(129) = %v", err)
	}
	want := payloadFor(3, 128)
	mustSend(t, p, 0, want)
	dst := make([]byte, 128)
	if n, m, err := c.TryRecv(dst); err != nil || !bytes.Equal(dst[:n], want) || m.Seq != 0 {
		t.Fatalf("TryRecv: %v %+v", err, m)
	}
}

// TestFrame_Heap_ScribbledSlot: a hostile peer overwrites published
// frames. The consumer reports typed, counted errors and carries on with
// the next message.
func TestFrame_Heap_ScribbledSlot(t *testing.T) {
	p, c := heapPair(t, Config{PayloadCapacity: 16, Capacity: 32}, ConsumerConfig{})
	mustSend(t, p, 1, payloadFor(1, 40))  // seqs 0-2
	mustSend(t, p, 2, payloadFor(2, 40))  // seqs 3-5
	mustSend(t, p, 3, payloadFor(3, 10))  // seq 6
	mustSend(t, p, 4, payloadFor(4, 100)) // seqs 7-13
	rp := p.rp
	copy(rp.Slot(1), bytes.Repeat([]byte{0xff}, 48)) // garbage in message 1
	s4 := rp.Slot(4)
	s4[offIndex] = 2          // message 2: fragment 1 claims to be 2
	rp.Slot(6)[offFrameLen]++ // message 3: length beyond its message
	var fields []string
	var kinds []uint8
	for range 10 {
		err := c.TryRead(func(m Meta, b []byte) error {
			if !bytes.Equal(b, payloadFor(uint64(m.Kind), len(b))) {
				t.Errorf("message %d corrupt", m.Kind)
			}
			kinds = append(kinds, m.Kind)
			return nil
		})
		var pe *ProtocolError
		switch {
		case errors.As(err, &pe):
			if pe.Reason != ReasonHeader {
				t.Errorf("reason %v, want %v", pe.Reason, ReasonHeader)
			}
			fields = append(fields, pe.Field)
		case err == ErrEmpty:
		case err != nil:
			t.Fatal(err)
		}
	}
	if len(kinds) != 1 || kinds[0] != 4 {
		t.Fatalf("delivered kinds %v, want [4]", kinds)
	}
	// Frame 1 has reserved flag bits set; frame 4 claims index 2 without
	// the last flag; frame 6 is longer than its message. Frames 2 and 5
	// (the rest of messages 1 and 2) are skipped quietly.
	want := []string{"flags", "flags.last", "frame_len"}
	if fmt.Sprint(fields) != fmt.Sprint(want) {
		t.Fatalf("error fields %v, want %v", fields, want)
	}
	if st := c.Stats(); st.ReassemblyErrors != 3 || st.SkippedFrames != 2 || st.Messages != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestFrame_Heap_EndOfStream_AllLoop(t *testing.T) {
	p, c := heapPair(t, Config{PayloadCapacity: 16, Capacity: 64}, ConsumerConfig{})
	for i := range 10 {
		mustSend(t, p, uint8(i), payloadFor(uint64(i), i*7))
	}
	p.Close()
	i := 0
	for m, b := range c.All(context.Background()) {
		if m.Kind != uint8(i) || !bytes.Equal(b, payloadFor(uint64(i), i*7)) {
			t.Fatalf("message %d wrong: %+v", i, m)
		}
		i++
	}
	if i != 10 || c.Err() != nil {
		t.Fatalf("All yielded %d, Err %v", i, c.Err())
	}
	if _, _, err := c.TryRecv(nil); err != ErrEndOfStream {
		t.Fatalf("after close: %v", err)
	}
}

func TestAttach_NotFramed_And_Mismatch(t *testing.T) {
	name := heapName(t)
	rp, err := ring.CreateBytes(name, ring.Config{Backend: ring.Heap, SlotSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Attach(context.Background(), name, ConsumerConfig{Backend: ring.Heap})
	var ge *GeometryError
	if !errors.Is(err, ErrNotFramed) || !errors.As(err, &ge) || ge.Field != "magic" {
		t.Fatalf("Attach(plain byte ring) = %v", err)
	}
	rp.Close()
	if _, _, err := ring.Inspect(ring.Heap, name); !errors.Is(err, ring.ErrNotFound) {
		t.Fatalf("plain ring not removed: %v", err)
	}

	name = heapName(t)
	p, err := Create(name, Config{PayloadCapacity: 100, Backend: ring.Heap})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, tc := range []struct {
		cfg   ConsumerConfig
		field string
	}{
		{ConsumerConfig{PayloadCapacity: 200}, "payload_capacity"},
		{ConsumerConfig{Aligned: true}, "aligned"},
	} {
		tc.cfg.Backend = ring.Heap
		_, err := Attach(context.Background(), name, tc.cfg)
		if !errors.As(err, &ge) || ge.Field != tc.field || errors.Is(err, ErrNotFramed) {
			t.Fatalf("Attach(%+v) = %v, want field %s", tc.cfg, err, tc.field)
		}
	}
	// A typed-ring attach of a frame ring fails in ring, naming the kind.
	if _, err := ring.Attach[uint64](context.Background(), name, ring.ConsumerConfig{Backend: ring.Heap}); !errors.Is(err, ring.ErrLayout) {
		t.Fatalf("typed attach = %v", err)
	}
}

// TestFrame_Shm_Aligned_PayloadAddresses checks that in aligned mode the
// payload handed out in place, and the reassembly buffer, start on a
// 16-byte boundary.
func TestFrame_Shm_Aligned_PayloadAddresses(t *testing.T) {
	name := ring.PortableName("fra")
	p, err := Create(name, Config{PayloadCapacity: 100, Aligned: true, Capacity: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := Attach(context.Background(), name, ConsumerConfig{Aligned: true, PayloadCapacity: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if g := c.Geometry(); g.SlotSize%16 != 0 || !g.Aligned {
		t.Fatalf("geometry %+v", g)
	}
	for i, size := range []int{1, 99, 100, 101, 350, 7} {
		mustSend(t, p, uint8(i), payloadFor(uint64(i), size))
		err := c.TryRead(func(m Meta, b []byte) error {
			if misalignment(b) != 0 {
				t.Errorf("%s: payload at address %% 16 = %d", sizeName(size), misalignment(b))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestFrame_ZeroAllocs: the hot paths allocate nothing once warm.
func TestFrame_ZeroAllocs(t *testing.T) {
	p, c := heapPair(t, Config{PayloadCapacity: 64, Capacity: 64}, ConsumerConfig{})
	ctx := context.Background()
	small, big := payloadFor(1, 48), payloadFor(2, 1000)
	dst := make([]byte, 1024)
	var sink int
	read := func(m Meta, b []byte) error { sink += len(b); return nil }
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"Send+Read/single-frame", func() { p.Send(ctx, 0, small); c.Read(ctx, read) }},
		{"Send+Read/multi-frame", func() { p.Send(ctx, 0, big); c.Read(ctx, read) }},
		{"Send+Recv/single-frame", func() { p.Send(ctx, 0, small); c.Recv(ctx, dst) }},
		{"Send+Recv/multi-frame", func() { p.Send(ctx, 0, big); c.Recv(ctx, dst) }},
		{"Send+TryRecv/multi-frame", func() { p.Send(ctx, 0, big); c.TryRecv(dst) }},
		{"Send+RecvAppend/multi-frame with capacity", func() { p.Send(ctx, 0, big); c.RecvAppend(ctx, dst[:0]) }},
		{"SendFlags+Process", func() {
			p.SendFlags(ctx, 0, 1, small)
			p.SendFlags(ctx, 0, 1, big)
			c.Process(ctx, 0, read)
		}},
	} {
		tc.f() // warm up (grows the reassembly buffer once)
		if n := testing.AllocsPerRun(200, tc.f); n != 0 {
			t.Errorf("%s: %v allocs per run, want 0", tc.name, n)
		}
	}
	if c.Stats().ReassemblyErrors != 0 {
		t.Fatal("errors")
	}
	_ = sink
}

// TestFrame_Heap_Lapped_Resyncs: a consumer that starts at a sequence
// already overwritten gets ErrLapped once (counted), then resynchronises at
// the next message start, skipping the tail of a message cut by the lap.
// The ring resumes a lapped consumer at a claim boundary, and a message
// that fits the ring is one claim, so only a message larger than the ring
// (claimed in chunks) can be cut: the test sends 10-frame messages through
// an 8-slot ring, shifting the boundaries by 0, 1 and 2 frames, and
// expects a cut message in at least one case.
func TestFrame_Heap_Lapped_Resyncs(t *testing.T) {
	cut := 0
	for shift := range 3 {
		name := heapName(t)
		p, err := Create(name, Config{PayloadCapacity: 8, Backend: ring.Heap, Capacity: 8})
		if err != nil {
			t.Fatal(err)
		}
		// No consumer gates the producer: shift single-frame messages,
		// then 4 messages of 10 frames (chunks of 4) lap the 8-slot ring.
		first := map[int64]int{} // first sequence -> message
		seq := int64(0)
		for i := range shift + 4 {
			size := 80
			if i < shift {
				size = 1
			}
			first[seq] = i
			seq += int64(max(1, (size+7)/8))
			mustSend(t, p, uint8(i), payloadFor(uint64(i), size))
		}
		c, err := Attach(context.Background(), name, ConsumerConfig{Backend: ring.Heap, Start: ring.StartAt(0)})
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]byte, 64)
		var le *ring.LappedError
		if _, _, err := c.TryRecv(dst); !errors.Is(err, ErrLapped) || !errors.As(err, &le) {
			t.Fatalf("shift %d: first TryRecv = %v, want a lap", shift, err)
		}
		// Expected: every message whose first frame is at or after the
		// resume point; the frames before the first such are skipped.
		var want []int
		skip := int64(-1)
		for s := le.ResumeAt; s < seq; s++ {
			if m, ok := first[s]; ok {
				want = append(want, m)
				if skip < 0 {
					skip = s - le.ResumeAt
				}
			}
		}
		if skip < 0 {
			skip = seq - le.ResumeAt
		}
		var got []int
		for {
			n, m, err := c.TryRecv(dst)
			if err == ErrEmpty {
				break
			}
			if err != nil {
				t.Fatalf("shift %d: %v", shift, err)
			}
			if !bytes.Equal(dst[:n], payloadFor(uint64(m.Kind), n)) {
				t.Fatalf("shift %d: message %d corrupt", shift, m.Kind)
			}
			got = append(got, int(m.Kind))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("shift %d: resumed at %d, got messages %v, want %v", shift, le.ResumeAt, got, want)
		}
		if st := c.Stats(); st.Lapped != 1 || st.SkippedFrames != uint64(skip) || st.ReassemblyErrors != 0 {
			t.Fatalf("shift %d: stats %+v, want %d skipped", shift, st, skip)
		}
		t.Logf("shift %d: published through %d, resumed at %d, skipped %d", shift, seq-1, le.ResumeAt, skip)
		if skip > 0 {
			cut++
		}
		c.Close()
		p.Close()
	}
	if cut == 0 {
		t.Fatal("the lap never cut a message: the resync path was not exercised")
	}
}

func TestFrame_Heap_Close_ThenReceive(t *testing.T) {
	p, c := heapPair(t, Config{PayloadCapacity: 8}, ConsumerConfig{})
	mustSend(t, p, 0, []byte("abc"))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.TryRecv(make([]byte, 8)); err != ErrClosed {
		t.Fatalf("TryRecv after Close = %v, want ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
}

// TestFrame_Heap_ConsumerLimit_And_ReceiveTimestamps: a consumer's own
// maximum skips larger messages with ReasonTooLarge; ReceiveTimestamps
// stamps messages that carry no send time.
func TestFrame_Heap_ConsumerLimit_And_ReceiveTimestamps(t *testing.T) {
	p, c := heapPair(t, Config{PayloadCapacity: 16}, ConsumerConfig{MaxMessageSize: 20, ReceiveTimestamps: true})
	mustSend(t, p, 1, payloadFor(1, 21))
	mustSend(t, p, 2, payloadFor(2, 20))
	dst := make([]byte, 64)
	_, _, err := c.TryRecv(dst)
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.Reason != ReasonTooLarge {
		t.Fatalf("TryRecv(21 bytes) = %v, want ReasonTooLarge", err)
	}
	n, m, err := c.TryRecv(dst)
	if err != nil || n != 20 || m.Kind != 2 || m.Received == 0 || m.Sent != 0 {
		t.Fatalf("TryRecv = %d %+v %v", n, m, err)
	}
	if _, ok := m.Latency(); ok {
		t.Fatal("latency without a send time")
	}
}

// TestHeader_FastPaths keeps the single-frame fast paths equal to the
// general ones: the producer's word encoding equals Encode, and the
// consumer's fast acceptance implies check accepts with the same decode.
func TestHeader_FastPaths(t *testing.T) {
	g := testGeometry(64, 1000, 16)
	f, p, c := fakePair(g)
	p.stamp = true
	for i, n := range []int{0, 1, 63, 64} {
		id := mustSend(t, p, uint8(i+1), payloadFor(1, n))
		got := f.slots[len(f.slots)-1][:HeaderSize]
		h, _ := DecodeHeader(got)
		want := make([]byte, HeaderSize)
		(&Header{FrameLen: uint32(n), MsgLen: uint32(n), Kind: uint8(i + 1), Flags: flagsSingle | FlagStamped, ID: id, Sent: h.Sent}).Encode(want)
		if !bytes.Equal(got, want) {
			t.Fatalf("fast encoding of %d bytes\n got %x\nwant %x", n, got, want)
		}
	}
	r := &c.asm
	rng := rand.New(rand.NewPCG(1, 2))
	slot := make([]byte, g.slotSize)
	accepted := 0
	for range 200000 {
		// Random headers near the valid single-frame ones.
		h := Header{FrameLen: uint32(rng.IntN(70)), MsgLen: uint32(rng.IntN(70)), Index: uint32(rng.IntN(2)),
			Kind: uint8(rng.Uint32()), Flags: uint8(rng.IntN(16)), UserFlags: uint8(rng.Uint32()), Reserved: uint8(rng.IntN(2)),
			ID: uint64(rng.IntN(2)), Sent: int64(rng.IntN(2))}
		if rng.IntN(2) == 0 {
			h.MsgLen = h.FrameLen
		}
		putHeader(slot, &h)
		slot[offReserved] = h.Reserved
		r.state = asmIdle
		fast := r.single(slot)
		var want Header
		readHeader(&want, slot)
		_, ok := g.check(&want)
		isSingle := ok && want.Index == 0 && want.Flags&FlagLast != 0 && uint64(want.MsgLen) <= g.maxMsg
		if fast != isSingle {
			t.Fatalf("header %+v: fast path %v, general path single %v", want, fast, isSingle)
		}
		if fast {
			accepted++
			if r.cur != want {
				t.Fatalf("fast decode %+v, want %+v", r.cur, want)
			}
		}
	}
	if accepted == 0 {
		t.Fatal("no header took the fast path")
	}
}

// TestFrame_Heap_LastSeq: the producer's LastSeq is the Meta.Seq its
// consumer sees, for one-frame, multi-frame and chunked messages.
func TestFrame_Heap_LastSeq(t *testing.T) {
	const capacity, slots = 24, 8
	p, c := heapPair(t, Config{PayloadCapacity: capacity, Capacity: slots}, ConsumerConfig{})
	if got := p.LastSeq(); got != -1 {
		t.Fatalf("LastSeq before any message = %d, want -1", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	buf := make([]byte, 4*slots*capacity)
	for i, size := range []int{1, capacity + 1, 3 * slots * capacity, 5, 2 * capacity} {
		errc := make(chan error, 1)
		go func() { _, err := p.Send(ctx, 0, payloadFor(uint64(i), size)); errc <- err }()
		_, m, err := c.Recv(ctx, buf)
		if err != nil {
			t.Fatal(err)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if p.LastSeq() != m.Seq {
			t.Fatalf("message %d (%d bytes): LastSeq %d, consumer's Meta.Seq %d", i, size, p.LastSeq(), m.Seq)
		}
	}
}
