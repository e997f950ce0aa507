//go:build !linux

package sched

import (
	"fmt"
	"runtime"
)

// Yield yields to other goroutines; sched_yield is Linux-only here.
func Yield() { runtime.Gosched() }

// PinThread is not supported on this system.
func PinThread(cpu int) (release func(), err error) {
	return nil, fmt.Errorf("pin to cpu %d: not supported on this system", cpu)
}
