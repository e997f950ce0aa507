//go:build !linux

package shm

import (
	"os"
	"time"
)

// Only Linux is supported: on other systems every file-backed operation
// returns ErrUnsupported. The Heap backend works everywhere (one process).

const shmDir = "/dev/shm"

// Create: see segment_linux.go.
func Create(b Backend, name string, size int, o Options) (*Mapping, error) {
	if b == Heap {
		if err := ValidateName(b, name); err != nil {
			return nil, err
		}
		return heapCreate(name, size)
	}
	return nil, ErrUnsupported
}

// Open: see segment_linux.go.
func Open(b Backend, name string, o Options) (*Mapping, error) {
	if b == Heap {
		return heapOpen(name)
	}
	return nil, ErrUnsupported
}

// OwnerAlive: see segment_linux.go.
func OwnerAlive(b Backend, name string) (bool, error) {
	if b == Heap {
		_, err := heapOpen(name)
		return err == nil, err
	}
	return false, ErrUnsupported
}

// Stat: see segment_linux.go.
func Stat(b Backend, name string) (int64, os.FileMode, error) { return 0, 0, ErrUnsupported }

// Remove: see segment_linux.go.
func Remove(b Backend, name string) error {
	if b == Heap {
		return heapRemove(name)
	}
	return ErrUnsupported
}

// RemoveDead: see segment_linux.go.
func RemoveDead(b Backend, name string) error {
	if b == Heap {
		return heapRemoveDead(name)
	}
	return ErrUnsupported
}

// List: see segment_linux.go.
func List() ([]string, error) { return nil, ErrUnsupported }

func (m *Mapping) closeOS() error { return ErrUnsupported }

// TryLock: see lock_linux.go.
func (m *Mapping) TryLock(slot int64) (bool, error) {
	if m.heap != nil {
		return m.heap.tryLock(m, slot), nil
	}
	return false, ErrUnsupported
}

// Unlock: see lock_linux.go.
func (m *Mapping) Unlock(slot int64) error {
	if m.heap != nil {
		m.heap.unlock(m, slot)
		return nil
	}
	return ErrUnsupported
}

// HeldByOther: see lock_linux.go.
func (m *Mapping) HeldByOther(slot int64) (bool, error) {
	if m.heap != nil {
		return m.heap.heldByOther(m, slot), nil
	}
	return false, ErrUnsupported
}

// FutexWait has no futex to park on here: it sleeps briefly, which the
// ring's wait loops treat as a spurious wake-up.
func FutexWait(addr *uint32, val uint32, timeout time.Duration) {
	time.Sleep(min(timeout, time.Millisecond))
}

// FutexWake is a no-op: FutexWait never sleeps long.
func FutexWake(addr *uint32, n int) {}
