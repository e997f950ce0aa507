//go:build !linux

package ring

import "runtime"

// schedYield yields to other goroutines; sched_yield is Linux-only here.
func schedYield() { runtime.Gosched() }
