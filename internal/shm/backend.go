package shm

import (
	"fmt"
	"os"
)

// Backend selects where a segment's memory lives.
type Backend uint8

const (
	// Shm is a POSIX shared-memory object named by a short name (the default).
	Shm Backend = iota
	// File is a regular file named by a path, mapped shared.
	File
	// Heap is process-local Go memory registered by name; for tests.
	Heap
)

// String returns the backend's name as used on the command line.
func (b Backend) String() string {
	switch b {
	case Shm:
		return "shm"
	case File:
		return "mmap"
	case Heap:
		return "heap"
	}
	return fmt.Sprintf("backend(%d)", uint8(b))
}

// ParseBackend parses "shm", "mmap" (or "file") and "heap".
func ParseBackend(s string) (Backend, error) {
	switch s {
	case "shm", "":
		return Shm, nil
	case "mmap", "file":
		return File, nil
	case "heap":
		return Heap, nil
	}
	return 0, fmt.Errorf("shm: unknown backend %q (want shm, mmap or heap)", s)
}

// Options tune Create and Open. The zero value means mode 0600 and no
// pre-faulting.
type Options struct {
	// Perm is the permission of a created segment, and the permission an
	// opener insists on. Zero means 0600.
	Perm os.FileMode
	// AnyPerm makes Open accept any permission bits (the owner check
	// stays): for tools that inspect or remove segments of any mode.
	AnyPerm bool
	// Populate pre-faults the mapping (MAP_POPULATE) so the first touches do
	// not page-fault on the hot path.
	Populate bool
}

func (o Options) perm() os.FileMode {
	if o.Perm == 0 {
		return 0o600
	}
	return o.Perm.Perm()
}

// Path returns where a segment of this backend and name lives in the file
// system ("" for Heap).
func Path(b Backend, name string) string {
	switch b {
	case Shm:
		return shmDir + "/" + name
	case File:
		return name
	}
	return ""
}

// OwnerSlot is the liveness lock slot Create takes for the creator before
// the new file has a size.
const OwnerSlot = 0

// lockBase is the byte offset of lock slot 0. It lies far beyond any
// segment's end so locks never overlap data a reader might also lock.
const lockBase = 1 << 40
