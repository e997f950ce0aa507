//go:build !linux

package shm

import (
	"sync/atomic"
	"time"
)

// FutexWait has no futex to park on here: it sleeps briefly, which the
// ring's wait loops treat as a spurious wake-up.
func FutexWait(addr *atomic.Uint32, val uint32, timeout time.Duration) {
	time.Sleep(min(timeout, time.Millisecond))
}

// FutexWake is a no-op: FutexWait never sleeps long.
func FutexWake(addr *atomic.Uint32, n int) {}
