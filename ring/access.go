package ring

// Access across OS users (Config.AccessGroup, ConsumerConfig.Owner,
// JoinConfig.Owner): names are resolved here, the checks themselves are
// internal/shm's (Create and Open).

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"

	"github.com/myelon-go/myelon/internal/shm"
)

// DefaultGroupPerm is the mode of a segment created with an AccessGroup
// and no Perm: read-write for the owner and the group, nothing for others.
const DefaultGroupPerm os.FileMode = 0o660

// shmOptions returns what shm.Create needs for a segment made with c.
func (c *Config) shmOptions() (shm.Options, error) {
	gid, err := lookupID(c.AccessGroup, "AccessGroup", true)
	if err != nil {
		return shm.Options{}, err
	}
	perm := c.Perm
	if _, ok := gid.Get(); ok && perm == 0 {
		perm = DefaultGroupPerm
	}
	return shm.Options{Perm: perm, Group: gid, Populate: c.Populate}, nil
}

// resolveOwner resolves o.owner into o.ownerID.
func (o *attachOptions) resolveOwner() error {
	id, err := lookupID(o.owner, "Owner", false)
	o.ownerID = id
	return err
}

// lookupID resolves a user (group false) or group name, or a numeric id,
// for the config field field. "" is unset. A string of ASCII digits only
// is a numeric id and needs no entry in /etc/passwd or /etc/group; anything
// else is looked up by name (os/user: the C library with cgo, the files in
// /etc without). Failures are ErrInvalidConfig.
func lookupID(s, field string, group bool) (shm.ID, error) {
	if s == "" {
		return shm.ID{}, nil
	}
	bad := func(format string, args ...any) (shm.ID, error) {
		return shm.ID{}, fmt.Errorf("%w: %s=%q: %s", ErrInvalidConfig, field, s, fmt.Sprintf(format, args...))
	}
	if isDigits(s) {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil || uint32(n) == shm.NoID {
			return bad("numeric id out of range [0, %d]", shm.NoID-1)
		}
		return shm.SomeID(uint32(n)), nil
	}
	var idStr string
	if group {
		g, err := user.LookupGroup(s)
		if err != nil {
			if errors.As(err, new(user.UnknownGroupError)) {
				return bad("no such group")
			}
			return bad("looking the group up: %v", err)
		}
		idStr = g.Gid
	} else {
		u, err := user.Lookup(s)
		if err != nil {
			if errors.As(err, new(user.UnknownUserError)) {
				return bad("no such user")
			}
			return bad("looking the user up: %v", err)
		}
		idStr = u.Uid
	}
	n, err := strconv.ParseUint(idStr, 10, 32)
	if err != nil || uint32(n) == shm.NoID {
		return bad("resolves to unusable id %q", idStr)
	}
	return shm.SomeID(uint32(n)), nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
