package ring

import (
	"encoding/binary"
	"math/bits"
	"testing"
)

// fuzzMaxMapping bounds the simulated mapping so the fuzzer cannot ask for
// gigabytes.
const fuzzMaxMapping = 4 << 20

// FuzzValidateHeader feeds hostile headers to validateHeader:
//
//	go test -fuzz=FuzzValidateHeader ./ring/
//
// data is the start of the mapping; mapLen (bounded) is its length when
// larger, the rest reading as zeros; with reseal set the checksum is
// recomputed first, so the fuzzer also explores the rungs behind it. It
// must never panic, and whatever it accepts must describe regions that lie
// inside the mapping, in order and without overlap.
func FuzzValidateHeader(f *testing.F) {
	for _, cfg := range []Config{
		{Backend: Heap, Capacity: 4, MaxConsumers: 1},
		{Backend: Heap, Capacity: 16, MaxConsumers: 3, MaxProducers: 2},
		{Backend: Heap, Capacity: 2, SlotSize: 24, Meta: []byte("frame")},
	} {
		hdr, total := fuzzSeedHeader(f, cfg, cfg.SlotSize != 0)
		f.Add(hdr, uint32(total), false)
		f.Add(hdr, uint32(total-1), false)
		f.Add(hdr[:headerSize-1], uint32(0), false)
		for _, off := range []int{hdrCapacity, hdrSlotSize, hdrMaxConsumers, hdrMaxProducers, hdrElemSize, hdrElemAlign, hdrTotalSize, hdrSlotsOff} {
			m := append([]byte(nil), hdr...)
			binary.LittleEndian.PutUint32(m[off:], 0xffffffff)
			f.Add(m, uint32(total), true)
		}
		m := append([]byte(nil), hdr...)
		binary.LittleEndian.PutUint32(m[hdrState:], stateClosed)
		f.Add(m, uint32(total), false)
	}
	f.Add([]byte{}, uint32(0), false)
	f.Add([]byte("MYELONRG"), uint32(headerSize), true)

	f.Fuzz(func(t *testing.T, data []byte, mapLen uint32, reseal bool) {
		n := max(len(data), int(mapLen%fuzzMaxMapping))
		b := alignedBuf(n)
		copy(b, data)
		if reseal && len(b) >= hdrChecksum+8 {
			binary.LittleEndian.PutUint64(b[hdrChecksum:], headerChecksum(b))
		}
		g, r, err := validateHeader(b)
		if err != nil {
			if _, ok := err.(*LayoutError); !ok {
				t.Fatalf("error %v is a %T, want *LayoutError", err, err)
			}
			return
		}
		checkAccepted(t, g, r, len(b))
	})
}

// checkAccepted is what a caller of validateHeader relies on when it
// returns nil: every view newSegmentView and the handles build is inside
// the mapping.
func checkAccepted(t *testing.T, g geometry, r regions, n int) {
	t.Helper()
	if g.capacity == 0 || bits.OnesCount32(g.capacity) != 1 {
		t.Fatalf("accepted capacity %d", g.capacity)
	}
	if g.slotSize == 0 || g.slotSize%8 != 0 || g.elemSize > g.slotSize {
		t.Fatalf("accepted slot size %d, elem size %d", g.slotSize, g.elemSize)
	}
	if g.maxConsumers == 0 {
		t.Fatal("accepted a ring without consumer entries")
	}
	if (g.mode == modeMulti) != (g.maxProducers > 0) {
		t.Fatalf("accepted mode %d with %d producers", g.mode, g.maxProducers)
	}
	checkRegions(t, g, r, 8, uint64(n))
	if t.Failed() {
		return
	}
	// The highest sequence's slot, read through the mask, is in range too.
	last := r.slots + uint64(g.capacity-1)*uint64(g.slotSize) + uint64(g.slotSize)
	if last > uint64(n) {
		t.Fatalf("last slot ends at %d past mapping %d", last, n)
	}
}

// fuzzSeedHeader creates a real ring and returns its header bytes and total
// size.
func fuzzSeedHeader(f *testing.F, cfg Config, bytesRing bool) ([]byte, int) {
	name := PortableName("fuzz")
	var s *segment
	if bytesRing {
		p, err := CreateBytes(name, cfg)
		if err != nil {
			f.Fatal(err)
		}
		defer p.Close()
		s = p.p.s
	} else {
		p, err := Create[validEvent](name, cfg)
		if err != nil {
			f.Fatal(err)
		}
		defer p.Close()
		s = p.p.s
	}
	return append([]byte(nil), s.m.Bytes()[:headerSize]...), int(s.r.total)
}
