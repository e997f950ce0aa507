// Package sched holds the scheduler calls the ring's wait strategies and
// benchmark pinning make: yielding the core to another process's thread,
// and pinning a goroutine's thread to a CPU. The ring package makes no
// system call of its own outside internal packages.
package sched
