//go:build linux

package shm

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// TryLock takes liveness lock slot without waiting. It reports false if
// another open description (another process, or another Mapping in this
// process) holds it. Taking a slot m already holds succeeds.
func (m *Mapping) TryLock(slot int64) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false, ErrClosed
	}
	if m.heap != nil {
		return m.heap.tryLock(m, slot), nil
	}
	lk := lockRange(unix.F_WRLCK, slot)
	err := unix.FcntlFlock(uintptr(m.fd), unix.F_OFD_SETLK, &lk)
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("shm: lock slot %d of %s: %w", slot, m.name, err)
	}
	return true, nil
}

// Unlock releases slot if m holds it.
func (m *Mapping) Unlock(slot int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if m.heap != nil {
		m.heap.unlock(m, slot)
		return nil
	}
	lk := lockRange(unix.F_UNLCK, slot)
	if err := unix.FcntlFlock(uintptr(m.fd), unix.F_OFD_SETLK, &lk); err != nil {
		return fmt.Errorf("shm: unlock slot %d of %s: %w", slot, m.name, err)
	}
	return nil
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
	if m.heap != nil {
		return m.heap.heldByOther(m, slot), nil
	}
	lk := lockRange(unix.F_WRLCK, slot)
	if err := unix.FcntlFlock(uintptr(m.fd), unix.F_OFD_GETLK, &lk); err != nil {
		return false, fmt.Errorf("shm: probe slot %d of %s: %w", slot, m.name, err)
	}
	return lk.Type != unix.F_UNLCK, nil
}

func lockRange(typ int16, slot int64) unix.Flock_t {
	return unix.Flock_t{Type: typ, Whence: 0, Start: lockBase + slot, Len: 1}
}
