//go:build linux

package ring

import "golang.org/x/sys/unix"

// schedYield gives the core to another runnable thread of any process
// (runtime.Gosched only yields to other goroutines).
func schedYield() { unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0) }
