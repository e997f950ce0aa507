package ring

// This file turns the mapping into typed views of shared words and slots
// (unsafe); elsewhere only the state word's load before validation
// (segment.go) and the element casts of typed slots (typed.go) use unsafe.
// Every offset passed here was validated against the mapping's length at
// attach (see validateHeader), so the views stay inside it.

import (
	"sync/atomic"
	"unsafe"
)

func (s *segment) ptr(off uint64) unsafe.Pointer { return unsafe.Add(s.base, off) }

func (s *segment) u32(off uint64) *uint32 { return (*uint32)(s.ptr(off)) }

func (s *segment) i64(off uint64) *int64 { return (*int64)(s.ptr(off)) }

func (s *segment) u64(off uint64) *uint64 { return (*uint64)(s.ptr(off)) }

// slot returns the address of the slot holding seq.
func (s *segment) slot(seq int64) unsafe.Pointer {
	return unsafe.Add(s.slots, uintptr(seq&s.mask)*s.slotSize)
}

// slotBytes returns the slot holding seq as a byte slice of the slot size.
func (s *segment) slotBytes(seq int64) []byte {
	return unsafe.Slice((*byte)(s.slot(seq)), s.slotSize)
}

// base pointer of the mapping.
func basePtr(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }

// addCounter bumps a shared counter. Counters change only on slow paths
// (waits, parks, joins), never per event.
func addCounter(p *uint64, n uint64) { atomic.AddUint64(p, n) }
