package frame

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/myelon-go/myelon/ring"
)

// sumGeometry is testGeometry on a checksummed ring.
func sumGeometry(c, maxMsg, ringCap int) geometry {
	g := testGeometry(c, maxMsg, ringCap)
	g.checksum, g.slotSize = true, HeaderSize+c+sumSize
	return g
}

// TestChecksum_RoundTrip: on a checksummed ring, messages of every size
// around the payload capacity, single-frame, multi-frame and larger than
// the ring (chunked), arrive intact with no checksum error; the sum sits
// in the last frame's trailer.
func TestChecksum_RoundTrip(t *testing.T) {
	const c = 64
	g := sumGeometry(c, 40*c, 8)
	f, p, cons := fakePair(g)
	dst := make([]byte, 40*c)
	for i, n := range append(sizesAround(c, 3), 20*c+5) {
		payload := payloadFor(uint64(i), n)
		id := mustSend(t, p, 1, payload)
		last := f.Slot(f.written)
		if got := g.sum(last); got != messageSum(payload) {
			t.Fatalf("%s: trailer of the last frame %#x, want %#x", sizeName(n), got, messageSum(payload))
		}
		k, m, err := cons.TryRecv(dst)
		if err != nil || m.ID != id || !bytes.Equal(dst[:k], payload) {
			t.Fatalf("%s: TryRecv = %d bytes, id %d, %v; want the message, id %d", sizeName(n), k, m.ID, err, id)
		}
	}
	if st := cons.stats; st.ChecksumErrors != 0 || st.ReassemblyErrors != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// corrupt names a way to damage the message at sequences lo..hi in f.
type corrupt struct {
	name   string
	damage func(f *fakeRing, g *geometry, lo, hi int64)
}

var corruptions = []corrupt{
	{"first payload byte", func(f *fakeRing, g *geometry, lo, hi int64) { f.slots[lo][HeaderSize] ^= 0x01 }},
	{"last frame's last payload byte", func(f *fakeRing, g *geometry, lo, hi int64) {
		s := f.slots[hi]
		s[HeaderSize+frameLen(s)-1] ^= 0x80
	}},
	{"middle fragment", func(f *fakeRing, g *geometry, lo, hi int64) {
		s := f.slots[(lo+hi)/2]
		s[HeaderSize+frameLen(s)/2]++
	}},
	{"the sum itself", func(f *fakeRing, g *geometry, lo, hi int64) { f.slots[hi][HeaderSize+g.cap+3] ^= 0xff }},
}

// frameLen is the frame length in a slot's header.
func frameLen(slot []byte) int { return int(binary.LittleEndian.Uint32(slot[offFrameLen:])) }

// TestChecksum_CorruptSkipped: a message damaged after its producer
// wrote it (one flipped payload byte, in a single frame, in the first,
// middle or last fragment of a multi-frame message, or in the sum) is
// reported once by every read path as a *ProtocolError of ReasonChecksum
// that matches ErrChecksum and ErrProtocol and names the message, is never
// delivered, and the next message is read normally. All skips it.
func TestChecksum_CorruptSkipped(t *testing.T) {
	const c = 64
	for _, size := range []int{10, c, 3*c + 7} {
		for _, cor := range corruptions {
			for _, path := range []string{"Recv", "Read", "Process", "RecvAppend", "All"} {
				t.Run(fmt.Sprintf("%s/%s/%s", sizeName(size), cor.name, path), func(t *testing.T) {
					g := sumGeometry(c, 8*c, 16)
					f, p, cons := fakePair(g)
					msgs := [][]byte{payloadFor(1, size), payloadFor(2, size), payloadFor(3, size)}
					var ids []uint64
					for i, m := range msgs {
						lo := f.written + 1
						ids = append(ids, mustSend(t, p, 7, m))
						if i == 1 {
							cor.damage(f, &g, lo, f.written)
						}
					}
					got, errs := readAll(t, cons, path, 2)
					if len(got) != 2 || !bytes.Equal(got[0], msgs[0]) || !bytes.Equal(got[1], msgs[2]) {
						t.Fatalf("delivered %d messages, want messages 1 and 3 intact", len(got))
					}
					if path == "All" {
						if len(errs) != 0 {
							t.Fatalf("All: errors %v", errs)
						}
					} else {
						if len(errs) != 1 {
							t.Fatalf("errors %v, want one checksum error", errs)
						}
						var pe *ProtocolError
						if !errors.As(errs[0], &pe) || pe.Reason != ReasonChecksum || pe.ID != ids[1] || pe.Field != "checksum" ||
							!errors.Is(errs[0], ErrChecksum) || !errors.Is(errs[0], ErrProtocol) {
							t.Fatalf("error %v; want a checksum *ProtocolError for id %d", errs[0], ids[1])
						}
					}
					if st := cons.stats; st.ChecksumErrors != 1 || st.ReassemblyErrors != 1 || st.Messages != 2 {
						t.Fatalf("stats: %d checksum errors, %d protocol errors, %d messages; want 1, 1, 2", st.ChecksumErrors, st.ReassemblyErrors, st.Messages)
					}
				})
			}
		}
	}
}

// readAll reads until want messages arrived through the read path named,
// returning them (copied) and the errors met on the way.
func readAll(t *testing.T, cons *Consumer, path string, want int) (msgs [][]byte, errs []error) {
	t.Helper()
	ctx := context.Background()
	keep := func(_ Meta, b []byte) error { msgs = append(msgs, bytes.Clone(b)); return nil }
	for tries := 0; len(msgs) < want; tries++ {
		if tries > 10 {
			t.Fatalf("%s: %d messages after %d calls (errors %v)", path, len(msgs), tries, errs)
		}
		var err error
		switch path {
		case "Recv":
			dst := make([]byte, 1<<12)
			var n int
			n, _, err = cons.Recv(ctx, dst)
			if err == nil {
				msgs = append(msgs, dst[:n])
			}
		case "RecvAppend":
			var b []byte
			b, _, err = cons.RecvAppend(ctx, nil)
			if err == nil {
				msgs = append(msgs, b)
			}
		case "Read":
			err = cons.Read(ctx, keep)
		case "Process":
			_, err = cons.Process(ctx, 0, keep)
		case "All":
			for _, b := range cons.All(ctx) {
				msgs = append(msgs, bytes.Clone(b))
				if len(msgs) == want {
					break
				}
			}
			err = cons.Err()
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return msgs, errs
}

// TestChecksum_Geometry: Config.Checksum is recorded in the ring's frame
// geometry and makes room for the trailer; a consumer follows the ring,
// and one (or a joining producer) that requires a checksummed ring is
// refused a plain one with a *GeometryError naming "checksum".
func TestChecksum_Geometry(t *testing.T) {
	ctx := context.Background()
	for _, aligned := range []bool{false, true} {
		t.Run(fmt.Sprintf("aligned=%v", aligned), func(t *testing.T) {
			name := heapName(t)
			p, err := Create(name, Config{Backend: ring.Heap, Capacity: 8, PayloadCapacity: 100, Aligned: aligned, Checksum: true})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			want := 32 + 100 + 4
			if aligned {
				want = (want + 15) &^ 15
			} else {
				want = (want + 7) &^ 7
			}
			if g := p.Geometry(); !g.Checksum || g.SlotSize != want {
				t.Fatalf("geometry %+v; want Checksum and slot size %d", g, want)
			}
			c, err := Attach(ctx, name, ConsumerConfig{Backend: ring.Heap, Checksum: true, Start: ring.StartAt(0)})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if !c.Geometry().Checksum {
				t.Fatal("the consumer's geometry has no checksum")
			}
			msg := payloadFor(9, 250)
			mustSend(t, p, 1, msg)
			got, _, err := c.RecvAppend(ctx, nil)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("RecvAppend = %d bytes, %v", len(got), err)
			}
		})
	}
	plain := heapName(t)
	p, err := Create(plain, Config{Backend: ring.Heap, Capacity: 8, MaxProducers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Geometry().Checksum || p.Geometry().SlotSize != HeaderSize+DefaultPayloadCapacity {
		t.Fatalf("plain ring geometry %+v", p.Geometry())
	}
	refused := func(what string, err error) {
		t.Helper()
		var ge *GeometryError
		if !errors.As(err, &ge) || ge.Field != "checksum" || !errors.Is(err, ErrGeometry) {
			t.Errorf("%s requiring a checksum on a plain ring: %v; want a *GeometryError naming checksum", what, err)
		}
	}
	c, err := Attach(ctx, plain, ConsumerConfig{Backend: ring.Heap, Checksum: true})
	if err == nil {
		c.Close()
	}
	refused("Attach", err)
	j, err := Join(ctx, plain, JoinConfig{Backend: ring.Heap, Checksum: true})
	if err == nil {
		j.Close()
	}
	refused("Join", err)
}

// TestChecksum_JoinedProducerSums: a producer that joins a checksummed
// multi-producer ring without asking follows the ring and sums its
// messages.
func TestChecksum_JoinedProducerSums(t *testing.T) {
	ctx := context.Background()
	name := heapName(t)
	p, err := Create(name, Config{Backend: ring.Heap, Capacity: 16, PayloadCapacity: 32, MaxProducers: 2, Checksum: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := Attach(ctx, name, ConsumerConfig{Backend: ring.Heap})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	j, err := Join(ctx, name, JoinConfig{Backend: ring.Heap})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for i, n := range []int{5, 32, 100} {
		msg := payloadFor(uint64(i), n)
		mustSend(t, j, 2, msg)
		got, _, err := c.RecvAppend(ctx, nil)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("%s from the joined producer: %d bytes, %v", sizeName(n), len(got), err)
		}
	}
	if st := c.Stats(); st.ChecksumErrors != 0 {
		t.Fatalf("checksum errors %d", st.ChecksumErrors)
	}
}

// TestChecksum_Observer: an observer, which reads validated copies of the
// frames, checks the sums of the copies (single- and multi-frame).
func TestChecksum_Observer(t *testing.T) {
	ctx := context.Background()
	p, c := heapPair(t, Config{Capacity: 16, PayloadCapacity: 64, Checksum: true}, ConsumerConfig{Observer: true})
	for i, n := range []int{0, 63, 64, 65, 200} {
		msg := payloadFor(uint64(i), n)
		mustSend(t, p, 1, msg)
		got, _, err := c.RecvAppend(ctx, nil)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("observer, %s: %d bytes, %v", sizeName(n), len(got), err)
		}
	}
	if st := c.Stats(); st.ChecksumErrors != 0 || st.ReassemblyErrors != 0 {
		t.Fatalf("observer stats %+v", st)
	}
}
