package shm

// The entry points: each validates its arguments, then hands the work to
// the implementation of its backend (Backend.store).

import (
	"fmt"
)

// Create makes a new segment of size bytes, failing with ErrExist if the
// name is taken. The file is opened O_CREAT|O_EXCL|O_NOFOLLOW with only the
// owner bits of o.Perm; then, with the creator's liveness lock held, it is
// handed to o.Group if set (fchown), given its mode (fchmod o.Perm: the
// umask does not apply), and only then sized. So no one outside the final
// group can open it meanwhile, and an opener that sees a size sees the
// final owner, group and mode. Every byte is then reserved (fallocate, or
// zeros written where the file system lacks it): a file system or quota
// without room for it is ErrNoSpace here, never a SIGBUS on a later touch.
// The memory reads as zeros. Any failure removes the file; a refused
// fchown is ErrPermission.
func Create(b Backend, name string, size int, o Options) (*Mapping, error) {
	if err := ValidateName(b, name); err != nil {
		return nil, err
	}
	if size <= 0 {
		return nil, fmt.Errorf("shm: size=%d must be positive", size)
	}
	if gid, chgrp := o.Group.Get(); chgrp && gid == NoID {
		return nil, fmt.Errorf("%w: group id %d means \"unchanged\" to chown", ErrInvalidOptions, gid)
	}
	return b.store().create(name, size, o)
}

// Open maps an existing segment in full, read-write. It checks, in order:
//
//   - the kernel lets us open the file O_RDWR (else ErrPermission, which
//     also matches fs.ErrPermission);
//   - it is a regular file, not a symlink (else ErrNotRegular);
//   - its uid is o.Owner, or our effective uid if Owner is unset (else
//     ErrOwner);
//   - it has a size (else ErrEmpty: its creator is still setting it up);
//   - its permission bits pass o.Perm's rule (else ErrMode): with Perm
//     zero any mode granting nothing to others (mode&0o007 == 0), with
//     Perm set exactly Perm, with AnyPerm anything.
//
// The group is not checked: the mode and the kernel decide who gets in.
// The mode is checked only once the file has a size because Create sets
// the final mode before it sizes the file. Likewise a file the kernel
// will not let us open that is still empty and owned by the trusted owner
// is ErrEmpty (a creator in the middle of Create), not ErrPermission.
func Open(b Backend, name string, o Options) (*Mapping, error) {
	if err := ValidateName(b, name); err != nil {
		return nil, err
	}
	return b.store().open(name, o)
}

// OwnerAlive reports whether the creator of a named segment still holds its
// liveness lock (slot OwnerSlot). Unlike Open it needs no mapping, so it
// also answers for a segment whose creator died before sizing it.
func OwnerAlive(b Backend, name string) (bool, error) {
	if err := ValidateName(b, name); err != nil {
		return false, err
	}
	return b.store().ownerAlive(name)
}

// Stat describes a named segment's file (size, mode, owner) without
// opening it.
func Stat(b Backend, name string) (FileInfo, error) {
	if err := ValidateName(b, name); err != nil {
		return FileInfo{}, err
	}
	return b.store().stat(name)
}

// RemoveDead removes the segment at name only if its owner is dead, and
// only the very segment it found so: it takes the owner's liveness lock on
// that file (which a live owner, or another process removing it at the
// same moment, holds), checks that the name still refers to that file,
// and unlinks it under the lock. A segment whose owner is alive, or one
// another process replaced meanwhile, is never removed: ErrExist.
func RemoveDead(b Backend, name string) error {
	if err := ValidateName(b, name); err != nil {
		return err
	}
	return b.store().removeDead(name)
}

// Remove unlinks a named segment.
func Remove(b Backend, name string) error {
	if err := ValidateName(b, name); err != nil {
		return err
	}
	return b.store().remove(name)
}
