package shm

import (
	"sync"
	"unsafe"
)

// Mapping is one process's view of a segment. Close it to unmap; the
// liveness locks taken through it are released on Close (and by the kernel
// when the process dies).
//
// A Mapping is safe for concurrent use; its bytes are shared memory and are
// only as safe as the protocol the caller runs over them.
type Mapping struct {
	backend Backend
	name    string
	data    []byte

	mu     sync.Mutex
	closed bool
	lk     locks // the backend's liveness locks and unmapping
}

// locks is what a backend gives a Mapping: liveness locks on numbered
// slots, and the release of the mapping with its locks.
type locks interface {
	tryLock(slot int64) (bool, error)
	unlock(slot int64) error
	heldByOther(slot int64) (bool, error)
	size() (int64, error)
	close(data []byte) error
}

// Bytes returns the mapped memory. It must not be used after Close.
func (m *Mapping) Bytes() []byte { return m.data }

// Len returns the number of bytes mapped (0 once closed). Unlike
// len(Bytes()) it may be called from another goroutine than the one
// closing m.
func (m *Mapping) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.data)
}

// Offset reports whether addr lies in the mapped memory, and at which
// offset: what a fault handler asks of a faulting address.
func (m *Mapping) Offset(addr uintptr) (int, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.data) == 0 {
		return 0, false
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(m.data)))
	if addr < base || addr-base >= uintptr(len(m.data)) {
		return 0, false
	}
	return int(addr - base), true
}

// FileSize returns the size of the segment now (fstat): smaller than Len
// once a peer has truncated it, when touching the pages beyond its end
// faults (SIGBUS).
func (m *Mapping) FileSize() (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, ErrClosed
	}
	return m.lk.size()
}

// Name returns the name the segment was created or opened with.
func (m *Mapping) Name() string { return m.name }

// Backend returns the backend holding the segment.
func (m *Mapping) Backend() Backend { return m.backend }

// TryLock takes liveness lock slot without waiting. It reports false if
// another open description (another process, or another Mapping in this
// process) holds it. Taking a slot m already holds succeeds.
func (m *Mapping) TryLock(slot int64) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false, ErrClosed
	}
	return m.lk.tryLock(slot)
}

// Unlock releases slot if m holds it.
func (m *Mapping) Unlock(slot int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	return m.lk.unlock(slot)
}

// HeldByOther reports whether some other open description holds slot: for
// a liveness lock, whether its holder is alive. This is a syscall; call it
// only on slow paths.
func (m *Mapping) HeldByOther(slot int64) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false, ErrClosed
	}
	return m.lk.heldByOther(slot)
}

// Close unmaps the memory and releases every lock taken through m. It is
// idempotent.
func (m *Mapping) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	err := m.lk.close(m.data)
	m.data = nil
	return err
}

// Unlink removes the segment's name so no new process can open it. Mapped
// views stay valid until they are closed.
func (m *Mapping) Unlink() error { return Remove(m.backend, m.name) }
