//go:build linux

package shm

import (
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel's futex contract, which the ring's Block strategy relies on:
//
//   - FUTEX_WAIT sleeps only if *addr still equals val when the kernel looks
//     (atomically with queueing the waiter); otherwise it returns EAGAIN at
//     once. This is what makes "check, then sleep" free of lost wake-ups.
//   - A sleeper may wake spuriously (signals, EINTR): callers re-check their
//     condition in a loop.
//   - FUTEX_WAKE wakes at most n sleepers on addr.
//
// The word lives in MAP_SHARED memory used by several processes, so these
// are shared futexes: FUTEX_PRIVATE_FLAG must not be set, or the key would be
// the process's mm and no other process would ever be woken.
const (
	_FUTEX_WAIT = 0
	_FUTEX_WAKE = 1
)

// FutexWait sleeps while *addr == val, for at most timeout (no limit if
// timeout <= 0). It returns on wake-up, on a value mismatch, on timeout or on
// a signal; the caller re-checks what it waits for.
func FutexWait(addr *atomic.Uint32, val uint32, timeout time.Duration) {
	var tsp unsafe.Pointer
	var ts unix.Timespec
	if timeout > 0 {
		ts = unix.NsecToTimespec(int64(timeout))
		tsp = unsafe.Pointer(&ts)
	}
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), _FUTEX_WAIT, uintptr(val), uintptr(tsp), 0, 0)
}

// FutexWake wakes up to n sleepers on addr.
func FutexWake(addr *atomic.Uint32, n int) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), _FUTEX_WAKE, uintptr(n), 0, 0, 0)
}
