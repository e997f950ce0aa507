package shm

import (
	"fmt"
	"os"
	"strconv"
)

// ID is an optional numeric user or group id (Options.Group, Options.Owner).
// The zero value is unset: uid and gid 0 are real ids (root's), so the zero
// Options must not mean 0.
type ID struct {
	n   uint32
	set bool
}

// SomeID returns n as a set ID.
func SomeID(n uint32) ID { return ID{n: n, set: true} }

// Get returns the id and whether it is set.
func (i ID) Get() (n uint32, ok bool) { return i.n, i.set }

// String returns the decimal id, or "unset".
func (i ID) String() string {
	if !i.set {
		return "unset"
	}
	return strconv.FormatUint(uint64(i.n), 10)
}

// NoID is the id chown(2) reads as "leave unchanged" ((uid_t)-1): it names
// no user or group, and Create refuses it as a Group (ErrInvalidOptions).
const NoID = ^uint32(0)

// checkOwner is Open's owner rule: the segment's uid must be o.Owner, or
// euid when Owner is unset. A read-only open trusts any owner: it reads
// to show, and validates what it reads.
func (o Options) checkOwner(path string, uid, euid uint32) error {
	if o.ReadOnly {
		return nil
	}
	want, ok := o.Owner.Get()
	who := "the trusted Owner"
	if !ok {
		want, who = euid, "our effective uid; name another owner to trust it"
	}
	if uid != want {
		return fmt.Errorf("%w: %s has uid %d, want uid %d (%s)", ErrOwner, path, uid, want, who)
	}
	return nil
}

// checkMode is Open's mode rule on the permission bits got: anything with
// AnyPerm; with Perm zero, any mode granting nothing to others
// (got&0o007 == 0); with Perm set, exactly Perm.
func (o Options) checkMode(path string, got os.FileMode) error {
	got = got.Perm()
	switch {
	case o.AnyPerm:
	case o.Perm == 0:
		if got&0o007 != 0 {
			return fmt.Errorf("%w: %s has mode %#o, which grants access to others (accepted without an explicit Perm: mode&0o007 == 0)", ErrMode, path, got)
		}
	case got != o.Perm.Perm():
		return fmt.Errorf("%w: %s has mode %#o, want %#o", ErrMode, path, got, o.Perm.Perm())
	}
	return nil
}
