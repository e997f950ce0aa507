//go:build linux

package ring

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// PinThread locks the calling goroutine to its OS thread and pins that
// thread to cpu, for a goroutine that busy-spins on a ring. release undoes
// both. Best effort: pinning fails where the CPU is not in the process's
// allowed set (for example in a container), and the error says so.
//
// Children inherit the affinity of the thread that forks them, so start
// helper processes before pinning, or pass CPUs to them explicitly.
func PinThread(cpu int) (release func(), err error) {
	runtime.LockOSThread()
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("ring: pin to cpu %d: %w", cpu, err)
	}
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("ring: pin to cpu %d: %w", cpu, err)
	}
	return func() {
		unix.SchedSetaffinity(0, &old)
		runtime.UnlockOSThread()
	}, nil
}
