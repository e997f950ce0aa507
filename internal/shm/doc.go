// Package shm opens, creates and maps the memory a myelon segment lives in,
// and holds the two kernel services the ring needs from the OS: futex
// park/wake on a word inside the mapping, and liveness locks that the kernel
// drops when their holder dies.
//
// Three backends share one API (see Backend):
//
//   - Shm: a POSIX shared-memory object by name. On Linux that is the file
//     /dev/shm/<name>, opened directly (glibc's shm_open does the same).
//   - File: a regular file at a path, mapped MAP_SHARED (the "mmap backend").
//   - Heap: Go heap memory registered under a name in this process. It cannot
//     cross processes; it exists so that in-process tests run under -race,
//     whose detector ignores mmapped memory.
//
// Liveness locks are OFD byte-range locks (fcntl F_OFD_SETLK) on bytes far
// beyond the end of the file, one byte per lock slot. An OFD lock belongs to
// the open file description, so it is released when the last descriptor for
// it closes, including when the kernel closes it because the process died. A
// probe from another descriptor (even in the same process) sees it as held.
// Heap segments emulate the same semantics per Mapping.
//
// Only Linux is supported; other systems get ErrUnsupported from every
// constructor.
package shm
