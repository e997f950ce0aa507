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
	// ErrOwner: the segment is owned by another user.
	ErrOwner = errors.New("shm: segment owned by another user")
	// ErrMode: the segment's permission bits differ from those expected.
	ErrMode = errors.New("shm: unexpected segment mode")
	// ErrClosed: the mapping was already closed.
	ErrClosed = errors.New("shm: mapping closed")
)
