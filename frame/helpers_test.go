package frame

import (
	"context"
	"fmt"
	"hash/fnv"
	"testing"

	"github.com/myelon-go/myelon/ring"
)

// payloadFor returns the self-checking payload of message i: size bytes of
// a splitmix64 stream seeded by i, so torn or stale reads show without a
// reference copy.
func payloadFor(i uint64, size int) []byte {
	b := make([]byte, size)
	fillPayload(b, i)
	return b
}

func fillPayload(b []byte, i uint64) {
	x := i*0x9e3779b97f4a7c15 + 1
	for j := range b {
		if j%8 == 0 {
			x += 0x9e3779b97f4a7c15
			z := x
			z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
			z = (z ^ (z >> 27)) * 0x94d049bb133111eb
			x = z ^ (z >> 31)
		}
		b[j] = byte(x >> (8 * (j % 8)))
	}
}

func checksum(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

// sizeFor is the size of message i in [0, maxSize].
func sizeFor(i uint64, maxSize int) int {
	z := (i + 7) * 0xd6e8feb86659fd93
	z ^= z >> 32
	return int(z % uint64(maxSize+1))
}

// fakeRing is an in-memory stand-in for both sides of a byte ring: a
// producer (claimer) appends slots; the test decides how many are visible
// to the consumer (source) by setting published.
type fakeRing struct {
	slotSize  int
	slots     [][]byte
	written   int64 // highest committed sequence
	published int64 // highest sequence the consumer may see
	next      int64 // consumer: next unreleased sequence
	auto      bool  // publish on commit
	closed    bool
	claimLo   int64
	claimN    int64
	failAt    int64 // Claim fails when it would claim this sequence (-1: never)
	claims    []int // sizes of the waiting (Claim) claims, in order
}

func newFakeRing(slotSize int) *fakeRing {
	return &fakeRing{slotSize: slotSize, written: -1, published: -1, auto: true, failAt: -1}
}

func (f *fakeRing) Claim(ctx context.Context, n int) (int64, error) {
	f.claims = append(f.claims, n)
	return f.claim(n)
}

func (f *fakeRing) claim(n int) (int64, error) {
	lo := int64(len(f.slots))
	if f.failAt >= lo && f.failAt < lo+int64(n) {
		return -1, context.Canceled
	}
	for range n {
		f.slots = append(f.slots, make([]byte, f.slotSize))
	}
	f.claimLo, f.claimN = lo, int64(n)
	return lo, nil
}

func (f *fakeRing) TryClaim(n int) (int64, error) { return f.claim(n) }

func (f *fakeRing) Slot(seq int64) []byte { return f.slots[seq] }

func (f *fakeRing) Commit() int64 {
	f.written = f.claimLo + f.claimN - 1
	if f.auto {
		f.published = f.written
	}
	return f.written
}

func (f *fakeRing) TryWait() (int64, int64, error) {
	if f.next > f.published {
		if f.closed {
			return f.next, f.published, ring.ErrEndOfStream
		}
		return f.next, f.published, ring.ErrEmpty
	}
	return f.next, f.published, nil
}

func (f *fakeRing) Wait(ctx context.Context) (int64, int64, error) {
	lo, hi, err := f.TryWait()
	if err == ring.ErrEmpty {
		return lo, hi, context.DeadlineExceeded // nothing will ever arrive
	}
	return lo, hi, err
}

func (f *fakeRing) ReleaseThrough(seq int64) {
	if seq >= f.next && seq <= f.published {
		f.next = seq + 1
	}
}

// appendRaw adds a raw slot (hostile input) and publishes it.
func (f *fakeRing) appendRaw(slot []byte) {
	b := make([]byte, f.slotSize)
	copy(b, slot)
	f.slots = append(f.slots, b)
	f.written++
	f.published = f.written
}

// testGeometry is the geometry of a ring of payload capacity c.
func testGeometry(c, maxMsg, ringCap int) geometry {
	return geometry{cap: uint64(c), maxMsg: uint64(maxMsg), ringMax: uint64(maxMsg), slotSize: HeaderSize + c, ringCap: int64(ringCap)}
}

// fakePair returns a producer and consumer over one fakeRing.
func fakePair(g geometry) (*fakeRing, *Producer, *Consumer) {
	f := newFakeRing(g.slotSize)
	p := &Producer{r: f, g: g}
	c := newConsumer(f, g, -1, false, nil)
	return f, p, c
}

// mustSend sends or fails the test.
func mustSend(t testing.TB, p *Producer, kind uint8, b []byte) uint64 {
	t.Helper()
	id, err := p.Send(context.Background(), kind, b)
	if err != nil {
		t.Fatalf("Send(%d bytes): %v", len(b), err)
	}
	return id
}

func sizesAround(c int, multiples int) []int {
	seen := map[int]bool{}
	var out []int
	for k := 0; k <= multiples; k++ {
		for _, d := range []int{-1, 0, 1} {
			n := k*c + d
			if n >= 0 && !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}

func heapName(t testing.TB) string { return ring.PortableName("fr") }

func sizeName(n int) string { return fmt.Sprintf("size=%d", n) }
