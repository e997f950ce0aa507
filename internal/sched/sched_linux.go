//go:build linux

package sched

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// Yield gives the core to another runnable thread of any process
// (runtime.Gosched only yields to other goroutines).
func Yield() { unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0) }

// PinThread locks the calling goroutine to its OS thread and pins that
// thread to cpu; release undoes both.
func PinThread(cpu int) (release func(), err error) {
	runtime.LockOSThread()
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("pin to cpu %d: %w", cpu, err)
	}
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("pin to cpu %d: %w", cpu, err)
	}
	return func() {
		unix.SchedSetaffinity(0, &old)
		runtime.UnlockOSThread()
	}, nil
}
