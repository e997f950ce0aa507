//go:build !linux

package peers

import "runtime"

// osYield gives the processor to another goroutine; without sched_yield
// there is no portable way to offer the core to other processes.
func osYield() { runtime.Gosched() }
