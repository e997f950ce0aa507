package shm

import "errors"

// Errors returned by Create and Open. OS errors are wrapped with %w, so
// errors.Is(err, fs.ErrExist) and friends work as well.
var (
	// ErrUnsupported: the platform or backend cannot do what was asked.
	ErrUnsupported = errors.New("shm: unsupported on this platform")
	// ErrInvalidName: the segment name fails validation (see ValidateName).
	ErrInvalidName = errors.New("shm: invalid segment name")
	// ErrExist: a segment with this name already exists.
	ErrExist = errors.New("shm: segment already exists")
	// ErrNotExist: no segment with this name exists.
	ErrNotExist = errors.New("shm: segment does not exist")
	// ErrEmpty: the segment exists but has no size yet: its creator is still
	// initialising it (or died doing so).
	ErrEmpty = errors.New("shm: segment is empty")
	// ErrNotRegular: the name resolves to a symlink or non-regular file.
	ErrNotRegular = errors.New("shm: not a regular file")
	// ErrOwner: Open found the segment owned by a uid other than the
	// trusted one (Options.Owner; unset: our effective uid).
	ErrOwner = errors.New("shm: segment owned by another user")
	// ErrMode: Open found permission bits it does not accept (see
	// Options.Perm).
	ErrMode = errors.New("shm: unexpected segment mode")
	// ErrPermission: the kernel refused an operation on the segment (EACCES
	// or EPERM from open, fchown, fchmod, unlink, ...). The OS error is
	// wrapped too, so such errors also match fs.ErrPermission.
	ErrPermission = errors.New("shm: permission denied")
	// ErrNoSpace: the file system holding the segment (/dev/shm for the
	// Shm backend), or the creator's quota, has no room for it: Create
	// reserves every byte of a new segment (fallocate, or zeros written
	// where the file system lacks it), so a full file system is this error
	// from Create, never a SIGBUS when the memory is first touched. The OS
	// error (ENOSPC or EDQUOT) is wrapped too.
	ErrNoSpace = errors.New("shm: no space for the segment")
	// ErrInvalidOptions: an option value no segment can have (an unknown
	// backend name, the reserved gid NoID).
	ErrInvalidOptions = errors.New("shm: invalid options")
	// ErrClosed: the mapping was already closed.
	ErrClosed = errors.New("shm: mapping closed")
)
