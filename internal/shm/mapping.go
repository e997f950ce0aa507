package shm

import "sync"

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
	fd     int      // File and Shm backends
	heap   *heapSeg // Heap backend
}

// Bytes returns the mapped memory. It must not be used after Close.
func (m *Mapping) Bytes() []byte { return m.data }

// Name returns the name the segment was created or opened with.
func (m *Mapping) Name() string { return m.name }

// Backend returns the backend holding the segment.
func (m *Mapping) Backend() Backend { return m.backend }

// Close unmaps the memory and releases every lock taken through m. It is
// idempotent.
func (m *Mapping) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	if m.heap != nil {
		m.heap.release(m)
		m.data = nil
		return nil
	}
	return m.closeOS()
}

// Unlink removes the segment's name so no new process can open it. Mapped
// views stay valid until they are closed.
func (m *Mapping) Unlink() error { return Remove(m.backend, m.name) }
