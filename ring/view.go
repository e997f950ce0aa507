package ring

// This file turns the mapping into typed views of the shared records and
// slots. It and the element casts of typed slots (typed.go) are the only
// code in the package that uses unsafe. Every region was validated against
// the mapping's length at attach (see validateHeader), so the views stay
// inside it.

import (
	"unsafe"

	"github.com/myelon-go/myelon/internal/shm"
)

// headerOf views the first headerSize bytes of b as a header; b must be at
// least that long.
func headerOf(b []byte) *header { return (*header)(unsafe.Pointer(unsafe.SliceData(b))) }

// newSegmentView builds the typed views of a mapping whose geometry g and
// regions r are validated.
func newSegmentView(m *shm.Mapping, name string, g geometry, r regions) *segment {
	b := m.Bytes()
	base := unsafe.Pointer(unsafe.SliceData(b))
	at := func(off uint64) unsafe.Pointer { return unsafe.Add(base, off) }
	s := &segment{m: m, name: name, g: g, r: r, selfConsumer: -1, selfProducer: -1}
	s.hdr = headerOf(b)
	s.prod = (*producerBlock)(at(r.producer))
	s.producers = unsafe.Slice((*producerEntry)(at(r.producers)), g.maxProducers)
	s.consumers = unsafe.Slice((*consumerEntry)(at(r.consumers)), g.maxConsumers)
	s.groups = unsafe.Slice((*groupEntry)(at(r.groups)), g.maxConsumers)
	s.counters = (*counters)(at(r.counters))
	if g.mode == modeMulti {
		s.markers = at(r.published)
	}
	s.slots = at(r.slots)
	s.cap = int64(g.capacity)
	s.mask = s.cap - 1
	s.slotSize = uintptr(g.slotSize)
	s.meta = s.hdr.userMeta
	return s
}

// marker returns the multi-producer published marker of seq's slot.
func (s *segment) marker(seq int64) *sequence {
	return (*sequence)(unsafe.Add(s.markers, (seq&s.mask)*8))
}

// slot returns the address of the slot holding seq.
func (s *segment) slot(seq int64) unsafe.Pointer {
	return unsafe.Add(s.slots, uintptr(seq&s.mask)*s.slotSize)
}

// slotBytes returns the slot holding seq as a byte slice of the slot size.
func (s *segment) slotBytes(seq int64) []byte {
	return unsafe.Slice((*byte)(s.slot(seq)), s.slotSize)
}
