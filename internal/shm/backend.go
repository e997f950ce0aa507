package shm

import (
	"fmt"
	"os"
	"time"
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

// String returns the backend's name: "shm", "file" or "heap", the names
// ParseBackend accepts (and the command line uses).
func (b Backend) String() string {
	switch b {
	case Shm:
		return "shm"
	case File:
		return "file"
	case Heap:
		return "heap"
	}
	return fmt.Sprintf("backend(%d)", uint8(b))
}

// ParseBackend parses a backend name: exactly "shm", "file" or "heap"; the
// empty string is Shm, the default.
func ParseBackend(s string) (Backend, error) {
	switch s {
	case "shm", "":
		return Shm, nil
	case "file":
		return File, nil
	case "heap":
		return Heap, nil
	}
	return 0, fmt.Errorf("%w: unknown backend %q (want shm, file or heap)", ErrInvalidOptions, s)
}

// MarshalText encodes the backend by its name (see String); a value that is
// not a backend is an error.
func (b Backend) MarshalText() ([]byte, error) {
	if b > Heap {
		return nil, fmt.Errorf("%w: cannot encode %v", ErrInvalidOptions, b)
	}
	return []byte(b.String()), nil
}

// UnmarshalText decodes a name accepted by ParseBackend.
func (b *Backend) UnmarshalText(text []byte) error {
	v, err := ParseBackend(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// Options tune Create and Open. The zero value creates with mode 0600,
// leaves the group alone, opens only segments owned by our effective uid
// whose mode grants nothing to others, and does not pre-fault.
type Options struct {
	// Perm is the permission of a created segment (zero: 0600), set with
	// fchmod so the umask does not apply.
	//
	// Open: zero accepts any mode that grants nothing to others
	// (mode&0o007 == 0: 0600, 0640, 0660 pass); non-zero must equal the
	// segment's permission bits exactly.
	Perm os.FileMode
	// AnyPerm makes Open accept any permission bits (the owner check
	// stays): for tools that inspect or remove segments of any mode.
	AnyPerm bool
	// Group (Create, file-backed backends): if set, the new segment is
	// handed to this gid (fchown) before it is given its mode, so Perm's
	// group bits apply to that group. Unset: the group the kernel gave the
	// file. Open and the Heap backend ignore it. The kernel refuses
	// (ErrPermission) a gid that is not one of the caller's groups unless
	// the caller is privileged.
	Group ID
	// Owner (Open): the uid trusted to own the segment. Unset: our
	// effective uid. A segment owned by any other uid is refused
	// (ErrOwner). Create and the Heap backend ignore it.
	Owner ID
	// Populate pre-faults the mapping (MAP_POPULATE) so the first touches do
	// not page-fault on the hot path.
	Populate bool
	// ReadOnly (Open, file-backed backends): open the file read-only and
	// map it PROT_READ, so that an inspecting tool needs only read
	// permission and cannot write to the segment (a write faults). It
	// accepts a segment of any owner. The Heap backend ignores it.
	ReadOnly bool
}

// FileInfo describes a segment's file without mapping it (Stat).
type FileInfo struct {
	Size    int64
	Mode    os.FileMode // permission bits
	UID     uint32
	GID     uint32
	ModTime time.Time
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

// store is what a backend does: one implementation per backend, chosen
// here and nowhere else (fileStore for Shm and File, heapStore for Heap).
type store interface {
	create(name string, size int, o Options) (*Mapping, error)
	open(name string, o Options) (*Mapping, error)
	ownerAlive(name string) (bool, error)
	stat(name string) (FileInfo, error)
	remove(name string) error
	removeDead(name string) error
}

func (b Backend) store() store {
	if b == Heap {
		return heapStore{}
	}
	return fileStore{b}
}

// OwnerSlot is the liveness lock slot Create takes for the creator before
// the new file has a size.
const OwnerSlot = 0

// lockBase is the byte offset of lock slot 0. It lies far beyond any
// segment's end so locks never overlap data a reader might also lock.
const lockBase = 1 << 40
