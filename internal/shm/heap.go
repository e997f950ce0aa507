package shm

import (
	"fmt"
	"sync"
	"unsafe"
)

// heapSeg is a Heap-backend segment: Go memory plus an emulation of OFD
// locks keyed by the Mapping that holds them.
type heapSeg struct {
	words []uint64 // backing store; uint64 keeps the base 8-byte aligned
	mu    sync.Mutex
	locks map[int64]*Mapping
}

var heapSegs = struct {
	sync.Mutex
	m map[string]*heapSeg
}{m: map[string]*heapSeg{}}

func heapCreate(name string, size int) (*Mapping, error) {
	heapSegs.Lock()
	defer heapSegs.Unlock()
	if _, ok := heapSegs.m[name]; ok {
		return nil, fmt.Errorf("%w: heap:%s", ErrExist, name)
	}
	s := &heapSeg{words: make([]uint64, (size+7)/8), locks: map[int64]*Mapping{}}
	heapSegs.m[name] = s
	m := s.mapping(name)
	s.locks[OwnerSlot] = m // as the file backends do: held from the start
	return m, nil
}

func heapOpen(name string) (*Mapping, error) {
	heapSegs.Lock()
	defer heapSegs.Unlock()
	s, ok := heapSegs.m[name]
	if !ok {
		return nil, fmt.Errorf("%w: heap:%s", ErrNotExist, name)
	}
	return s.mapping(name), nil
}

func heapRemove(name string) error {
	heapSegs.Lock()
	defer heapSegs.Unlock()
	if _, ok := heapSegs.m[name]; !ok {
		return fmt.Errorf("%w: heap:%s", ErrNotExist, name)
	}
	delete(heapSegs.m, name)
	return nil
}

// heapRemoveDead removes a heap segment whose owner slot nobody holds.
func heapRemoveDead(name string) error {
	heapSegs.Lock()
	defer heapSegs.Unlock()
	s, ok := heapSegs.m[name]
	if !ok {
		return fmt.Errorf("%w: heap:%s", ErrNotExist, name)
	}
	s.mu.Lock()
	_, held := s.locks[OwnerSlot]
	s.mu.Unlock()
	if held {
		return fmt.Errorf("%w: heap:%s: its owner is alive", ErrExist, name)
	}
	delete(heapSegs.m, name)
	return nil
}

func (s *heapSeg) mapping(name string) *Mapping {
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s.words))), len(s.words)*8)
	return &Mapping{backend: Heap, name: name, data: b, fd: -1, heap: s}
}

func (s *heapSeg) release(m *Mapping) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, h := range s.locks {
		if h == m {
			delete(s.locks, k)
		}
	}
}

func (s *heapSeg) tryLock(m *Mapping, slot int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h, ok := s.locks[slot]; ok && h != m {
		return false
	}
	s.locks[slot] = m
	return true
}

func (s *heapSeg) unlock(m *Mapping, slot int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locks[slot] == m {
		delete(s.locks, slot)
	}
}

func (s *heapSeg) heldByOther(m *Mapping, slot int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.locks[slot]
	return ok && h != m
}
