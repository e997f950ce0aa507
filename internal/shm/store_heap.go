package shm

import (
	"fmt"
	"os"
	"sync"
	"unsafe"
)

// heapStore holds the Heap backend's segments: Go memory registered by
// name in this process, with an emulation of OFD locks keyed by the
// Mapping that holds them. It cannot cross processes; it exists so that
// in-process tests run under the race detector, which ignores mmapped
// memory.
type heapStore struct{}

// heapSeg is one Heap segment.
type heapSeg struct {
	words []uint64 // backing store; uint64 keeps the base 8-byte aligned
	mu    sync.Mutex
	locks map[int64]*Mapping
}

var heapSegs = struct {
	sync.Mutex
	m map[string]*heapSeg
}{m: map[string]*heapSeg{}}

func (heapStore) create(name string, size int, _ Options) (*Mapping, error) {
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

func (heapStore) open(name string, _ Options) (*Mapping, error) {
	s, err := heapFind(name)
	if err != nil {
		return nil, err
	}
	return s.mapping(name), nil
}

func (heapStore) ownerAlive(name string) (bool, error) {
	s, err := heapFind(name)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, held := s.locks[OwnerSlot]
	return held, nil
}

func (heapStore) stat(name string) (FileInfo, error) {
	s, err := heapFind(name)
	if err != nil {
		return FileInfo{}, err
	}
	return FileInfo{Size: int64(len(s.words) * 8), Mode: 0o600, UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())}, nil
}

func (heapStore) remove(name string) error {
	heapSegs.Lock()
	defer heapSegs.Unlock()
	if _, ok := heapSegs.m[name]; !ok {
		return fmt.Errorf("%w: heap:%s", ErrNotExist, name)
	}
	delete(heapSegs.m, name)
	return nil
}

// removeDead removes a heap segment whose owner slot nobody holds.
func (heapStore) removeDead(name string) error {
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

func heapFind(name string) (*heapSeg, error) {
	heapSegs.Lock()
	defer heapSegs.Unlock()
	s, ok := heapSegs.m[name]
	if !ok {
		return nil, fmt.Errorf("%w: heap:%s", ErrNotExist, name)
	}
	return s, nil
}

func (s *heapSeg) mapping(name string) *Mapping {
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s.words))), len(s.words)*8)
	m := &Mapping{backend: Heap, name: name, data: b}
	m.lk = heapLocks{s: s, m: m}
	return m
}

// heapLocks are a heap Mapping's locks: entries of its segment's lock
// table keyed by the Mapping, as an OFD lock is keyed by its descriptor.
type heapLocks struct {
	s *heapSeg
	m *Mapping
}

func (l heapLocks) tryLock(slot int64) (bool, error) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if h, ok := l.s.locks[slot]; ok && h != l.m {
		return false, nil
	}
	l.s.locks[slot] = l.m
	return true, nil
}

func (l heapLocks) unlock(slot int64) error {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if l.s.locks[slot] == l.m {
		delete(l.s.locks, slot)
	}
	return nil
}

func (l heapLocks) heldByOther(slot int64) (bool, error) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	h, ok := l.s.locks[slot]
	return ok && h != l.m, nil
}

// size: heap memory cannot be truncated.
func (l heapLocks) size() (int64, error) { return int64(len(l.m.data)), nil }

// close drops every lock the Mapping holds; the memory stays with the
// segment until it is removed and unreferenced.
func (l heapLocks) close([]byte) error {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	for k, h := range l.s.locks {
		if h == l.m {
			delete(l.s.locks, k)
		}
	}
	return nil
}
