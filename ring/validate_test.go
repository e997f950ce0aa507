package ring

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/myelon-go/myelon/internal/testfix"
)

type validEvent struct {
	Seq int64
	V   [3]float64
}

// damageAndAttach creates a typed ring on backend b, applies damage to its
// mapped header (re-sealing the checksum when resum is set, so that the
// intended rung fires rather than the checksum's), and attaches to it.
func damageAndAttach(t *testing.T, b Backend, cfg Config, damage func(hdr []byte), resum bool) error {
	t.Helper()
	name := PortableName("valid")
	if b == File {
		name = t.TempDir() + "/" + name
	}
	cfg.Backend = b
	p, err := Create[validEvent](name, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	hdr := p.p.s.m.Bytes()
	damage(hdr)
	if resum {
		binary.LittleEndian.PutUint64(hdr[hdrChecksum:], headerChecksum(hdr))
	}
	c, err := Attach[validEvent](testfix.Context(t, 200*time.Millisecond), name, ConsumerConfig{Backend: b})
	if err == nil {
		c.Close()
	}
	return err
}

func put32(off int, v uint32) func([]byte) {
	return func(b []byte) { binary.LittleEndian.PutUint32(b[off:], v) }
}

func put64(off int, v uint64) func([]byte) {
	return func(b []byte) { binary.LittleEndian.PutUint64(b[off:], v) }
}

func add64(off int, d int64) func([]byte) {
	return func(b []byte) {
		binary.LittleEndian.PutUint64(b[off:], binary.LittleEndian.Uint64(b[off:])+uint64(d))
	}
}

// rewriteGeometry changes the geometry and rewrites every derived offset
// consistently: a well-formed header describing another ring.
func rewriteGeometry(change func(*geometry)) func([]byte) {
	return func(b []byte) {
		le := binary.LittleEndian
		g := geometry{
			kind: le.Uint32(b[hdrKind:]), mode: le.Uint32(b[hdrProducerMode:]),
			slotSize: le.Uint32(b[hdrSlotSize:]), capacity: le.Uint32(b[hdrCapacity:]),
			maxConsumers: le.Uint32(b[hdrMaxConsumers:]), maxProducers: le.Uint32(b[hdrMaxProducers:]),
			elemSize: le.Uint32(b[hdrElemSize:]), elemAlign: le.Uint32(b[hdrElemAlign:]),
			fingerprint: le.Uint64(b[hdrFingerprint:]),
		}
		change(&g)
		r := g.place()
		le.PutUint32(b[hdrSlotSize:], g.slotSize)
		le.PutUint32(b[hdrCapacity:], g.capacity)
		le.PutUint32(b[hdrMaxConsumers:], g.maxConsumers)
		le.PutUint64(b[hdrTotalSize:], r.total)
		le.PutUint64(b[hdrProducerOff:], r.producer)
		le.PutUint64(b[hdrProducersOff:], r.producers)
		le.PutUint64(b[hdrConsumersOff:], r.consumers)
		le.PutUint64(b[hdrCountersOff:], r.counters)
		le.PutUint64(b[hdrPublishedOff:], r.published)
		le.PutUint64(b[hdrSlotsOff:], r.slots)
	}
}

// TestAttach_LayoutErrors damages exactly one header field per case and
// expects the validation rung for that field (one corruption test per
// rung of validateHeader, as bbolt's TestOpen_Err* do).
func TestAttach_LayoutErrors(t *testing.T) {
	cfg := Config{Capacity: 8, MaxConsumers: 2}
	// validEvent is 32 bytes: slot size 32.
	cases := []struct {
		field  string
		damage func([]byte)
		resum  bool // the field is covered by the checksum and its rung comes after it
	}{
		{"magic", func(b []byte) { b[hdrMagic+7] = 'X' }, false},
		{"version", put32(hdrVersion, layoutVersion+1), false},
		{"header_size", put32(hdrHeaderSize, 1024), false},
		{"state", func(b []byte) { atomic.StoreUint32((*uint32)(unsafe.Pointer(&b[hdrState])), 7) }, false},
		{"checksum", func(b []byte) { b[hdrUserMeta+3] ^= 0x40 }, false},
		{"checksum", add64(hdrChecksum, 1), false},
		{"kind", put32(hdrKind, 3), true},
		{"producer_mode", put32(hdrProducerMode, 0), true},
		{"producer_mode", put32(hdrProducerMode, 3), true},
		{"capacity", put32(hdrCapacity, 0), true},
		{"capacity", put32(hdrCapacity, 12), true},
		{"capacity", put32(hdrCapacity, 1<<31), true},
		{"slot_size", put32(hdrSlotSize, 0), true},
		{"slot_size", put32(hdrSlotSize, 36), true},
		{"slot_size", put32(hdrSlotSize, maxSlotSize+8), true},
		{"max_consumers", put32(hdrMaxConsumers, 0), true},
		{"max_consumers", put32(hdrMaxConsumers, maxConsumers+1), true},
		{"max_producers", put32(hdrMaxProducers, 2), true}, // a single-producer ring with producers
		{"max_producers", func(b []byte) { put32(hdrProducerMode, modeMulti)(b); put32(hdrMaxProducers, 0)(b) }, true},
		{"max_producers", func(b []byte) { put32(hdrProducerMode, modeMulti)(b); put32(hdrMaxProducers, maxProducers+1)(b) }, true},
		{"elem_size", put32(hdrElemSize, 40), true},
		{"elem_size", put32(hdrElemSize, 0), true},
		{"elem_align", put32(hdrElemAlign, 16), true},
		{"elem_align", put32(hdrElemAlign, 3), true},
		{"total_size", add64(hdrTotalSize, pageSize), true},
		{"producer_off", add64(hdrProducerOff, 128), true},
		{"producers_off", add64(hdrProducersOff, -128), true},
		{"consumers_off", add64(hdrConsumersOff, 256), true},
		{"counters_off", put64(hdrCountersOff, 0), true},
		{"published_off", put64(hdrPublishedOff, 4096), true},
		{"slots_off", add64(hdrSlotsOff, -pageSize), true},
		{"slots_off", put64(hdrSlotsOff, 1<<62), true},
		// A consistent header for a ring far larger than the mapping.
		{"total_size", rewriteGeometry(func(g *geometry) { g.capacity = 1 << 20 }), true},
		{"total_size", rewriteGeometry(func(g *geometry) { g.maxConsumers = maxConsumers }), true},
	}
	for _, b := range []Backend{Heap, Shm} {
		for _, tc := range cases {
			t.Run(b.String()+"/"+tc.field, func(t *testing.T) {
				err := damageAndAttach(t, b, cfg, tc.damage, tc.resum)
				var le *LayoutError
				if !errors.As(err, &le) {
					t.Fatalf("Attach = %v, want *LayoutError for %s", err, tc.field)
				}
				if le.Field != tc.field {
					t.Fatalf("LayoutError field %q (%v), want %q", le.Field, err, tc.field)
				}
				if !errors.Is(err, ErrLayout) {
					t.Fatalf("errors.Is(%v, ErrLayout) = false", err)
				}
				if !strings.Contains(err.Error(), tc.field) {
					t.Errorf("message %q does not name %s", err, tc.field)
				}
			})
		}
	}
}

// TestAttach_LayoutError_MappingTooSmall truncates a File segment below the
// size its (intact) header describes.
func TestAttach_LayoutError_MappingTooSmall(t *testing.T) {
	path := t.TempDir() + "/" + PortableName("trunc")
	p, err := Create[validEvent](path, Config{Backend: File, Capacity: 1024, KeepOnClose: true})
	if err != nil {
		t.Fatal(err)
	}
	total := int64(p.Info().TotalSize)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, total-pageSize); err != nil {
		t.Fatal(err)
	}
	_, err = Attach[validEvent](testfix.Context(t, 200*time.Millisecond), path, ConsumerConfig{Backend: File})
	var le *LayoutError
	if !errors.As(err, &le) || le.Field != "total_size" || !errors.Is(err, ErrLayout) {
		t.Fatalf("Attach to truncated segment = %v, want LayoutError total_size", err)
	}
	if !strings.Contains(err.Error(), "mapping") {
		t.Errorf("message %q does not say the mapping is too small", err)
	}
}

// TestValidateHeader_ShortBuffer is the first rung, unreachable through
// Attach (which waits for a segment shorter than a header to grow).
func TestValidateHeader_ShortBuffer(t *testing.T) {
	for _, n := range []int{0, 1, headerSize - 1} {
		_, _, err := validateHeader(alignedBuf(n))
		var le *LayoutError
		if !errors.As(err, &le) || le.Field != "size" {
			t.Errorf("validateHeader(%d bytes) = %v, want LayoutError size", n, err)
		}
	}
}

type validOther struct {
	Seq int64
	W   [3]float64 // same layout as validEvent, another field name
}

type validSmall struct{ Seq int64 }

// TestAttach_GeometryMismatch covers what the attacher asks for rather
// than what the header holds: each a *LayoutError naming the field.
func TestAttach_GeometryMismatch(t *testing.T) {
	name := PortableName("geom")
	p, err := Create[validEvent](name, Config{Backend: Heap, Capacity: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	short := 200 * time.Millisecond
	try := func(field string, attach func() error) {
		t.Helper()
		err := attach()
		var le *LayoutError
		if !errors.As(err, &le) || le.Field != field || !errors.Is(err, ErrLayout) {
			t.Errorf("got %v, want LayoutError %s", err, field)
		}
	}
	try("capacity", func() error {
		_, err := Attach[validEvent](testfix.Context(t, short), name, ConsumerConfig{Backend: Heap, Capacity: 16})
		return err
	})
	try("slot_size", func() error {
		_, err := Attach[validEvent](testfix.Context(t, short), name, ConsumerConfig{Backend: Heap, SlotSize: 64})
		return err
	})
	try("element_type", func() error {
		_, err := Attach[validOther](testfix.Context(t, short), name, ConsumerConfig{Backend: Heap})
		return err
	})
	try("element_size", func() error {
		_, err := Attach[validSmall](testfix.Context(t, short), name, ConsumerConfig{Backend: Heap})
		return err
	})
	try("kind", func() error {
		_, err := AttachBytes(testfix.Context(t, short), name, ConsumerConfig{Backend: Heap})
		return err
	})
	// The matching attach still works after all that.
	c, err := Attach[validEvent](context.Background(), name, ConsumerConfig{Backend: Heap, Capacity: 8, SlotSize: 32})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// alignedBuf returns n zero bytes starting on an 8-byte boundary (the state
// word is read atomically, as it is in a mapping).
func alignedBuf(n int) []byte {
	w := make([]uint64, (n+7)/8+1)
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(w))), len(w)*8)[:n]
}
