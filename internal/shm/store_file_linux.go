//go:build linux

package shm

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

const shmDir = "/dev/shm"

// fileStore holds the segments of the file-backed backends: Shm objects
// under shmDir and File paths, mapped shared.
type fileStore struct{ b Backend }

func (s fileStore) create(name string, size int, o Options) (*Mapping, error) {
	b := s.b
	gid, chgrp := o.Group.Get()
	// The segment is built under a temporary name and linked into place
	// locked, sized and with its mode set: the name never shows a file
	// without its creator's lock, which another process replacing stale
	// segments would take for a dead creator's (see RemoveDead). link,
	// unlike rename, fails if the name exists: the O_EXCL of the name.
	path := Path(b, name)
	tmp := filepath.Join(filepath.Dir(path), fmt.Sprintf(".tmp-%s-%016x", filepath.Base(path), rand.Uint64()))
	fd, err := unix.Open(tmp, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(o.perm()&0o700))
	if err != nil {
		return nil, openErr("create", tmp, err)
	}
	linked := false
	fail := func(err error) (*Mapping, error) {
		unix.Close(fd)
		if linked {
			unix.Unlink(path) // ours: we hold its lock
		} else {
			unix.Unlink(tmp)
		}
		return nil, err
	}
	// The creator's liveness lock (slot OwnerSlot): from the moment the
	// name exists, a segment whose creator is alive is never taken for
	// stale (see OwnerAlive).
	lk := lockRange(unix.F_WRLCK, OwnerSlot)
	if err := unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLK, &lk); err != nil {
		return fail(sysErr("lock new", tmp, "", err))
	}
	if chgrp {
		// Before the fchmod: the group bits must only ever apply to gid.
		if err := unix.Fchown(fd, -1, int(gid)); err != nil {
			return fail(sysErr("fchown", path, fmt.Sprintf(" to gid %d", gid), err))
		}
	}
	// Set the mode explicitly so the umask cannot widen or narrow it.
	if err := unix.Fchmod(fd, uint32(o.perm())); err != nil {
		return fail(sysErr("fchmod", path, fmt.Sprintf(" to %#o", o.perm()), err))
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		return fail(sysErr("ftruncate", path, fmt.Sprintf(" to %d", size), err))
	}
	// Every byte gets its storage now, so a full file system is an error
	// here (ErrNoSpace) and never a SIGBUS on a later first touch (see
	// reserve_linux.go).
	if err := reserve(fd, path, int64(size)); err != nil {
		return fail(err)
	}
	if err := unix.Link(tmp, path); err != nil {
		return fail(openErr("create", path, err))
	}
	linked = true
	unix.Unlink(tmp)
	m, err := mapFD(b, name, fd, size, o)
	if err != nil {
		return fail(err)
	}
	return m, nil
}

func (s fileStore) open(name string, o Options) (*Mapping, error) {
	b := s.b
	path := Path(b, name)
	mode := unix.O_RDWR
	if o.ReadOnly {
		mode = unix.O_RDONLY
	}
	fd, err := unix.Open(path, mode|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		if isPermErr(err) {
			var st unix.Stat_t
			if unix.Lstat(path, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG && st.Size == 0 &&
				o.checkOwner(path, st.Uid, uint32(os.Geteuid())) == nil {
				return nil, fmt.Errorf("%w: %s (open refused, %v, while its creator sets its group and mode)", ErrEmpty, path, err)
			}
		}
		return nil, openErr("open", path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, sysErr("fstat", path, "", err)
	}
	if err := checkStat(path, &st, o); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if st.Size <= 0 {
		// The creator has not sized it yet; callers retry until ready.
		unix.Close(fd)
		return nil, fmt.Errorf("%w: %s", ErrEmpty, path)
	}
	if err := o.checkMode(path, os.FileMode(st.Mode)); err != nil {
		unix.Close(fd)
		return nil, err
	}
	m, err := mapFD(b, name, fd, int(st.Size), o)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return m, nil
}

func (s fileStore) ownerAlive(name string) (bool, error) {
	path := Path(s.b, name)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return false, openErr("open", path, err)
	}
	defer unix.Close(fd)
	lk := lockRange(unix.F_WRLCK, OwnerSlot)
	if err := unix.FcntlFlock(uintptr(fd), unix.F_OFD_GETLK, &lk); err != nil {
		return false, sysErr("probe the owner lock of", path, "", err)
	}
	return lk.Type != unix.F_UNLCK, nil
}

func (s fileStore) stat(name string) (FileInfo, error) {
	var st unix.Stat_t
	path := Path(s.b, name)
	if err := unix.Lstat(path, &st); err != nil {
		return FileInfo{}, openErr("stat", path, err)
	}
	return FileInfo{
		Size: st.Size, Mode: os.FileMode(st.Mode).Perm(), UID: st.Uid, GID: st.Gid,
		ModTime: time.Unix(st.Mtim.Unix()),
	}, nil
}

func (s fileStore) removeDead(name string) error {
	path := Path(s.b, name)
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return openErr("open", path, err)
	}
	defer unix.Close(fd) // releases the lock, after the unlink
	lk := lockRange(unix.F_WRLCK, OwnerSlot)
	if err := unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLK, &lk); err != nil {
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
			return fmt.Errorf("%w: %s: its owner is alive, or another process is replacing it", ErrExist, path)
		}
		return sysErr("lock the owner slot of", path, "", err)
	}
	var held, named unix.Stat_t
	if err := unix.Fstat(fd, &held); err != nil {
		return sysErr("fstat", path, "", err)
	}
	if err := unix.Lstat(path, &named); err != nil || named.Dev != held.Dev || named.Ino != held.Ino {
		return fmt.Errorf("%w: %s was replaced while we checked it", ErrExist, path)
	}
	if err := unix.Unlink(path); err != nil {
		return openErr("unlink", path, err)
	}
	return nil
}

func (s fileStore) remove(name string) error {
	path := Path(s.b, name)
	if err := unix.Unlink(path); err != nil {
		return openErr("unlink", path, err)
	}
	return nil
}

func checkStat(path string, st *unix.Stat_t, o Options) error {
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("%w: %s has type %#o", ErrNotRegular, path, st.Mode&unix.S_IFMT)
	}
	return o.checkOwner(path, st.Uid, uint32(os.Geteuid()))
}

func mapFD(b Backend, name string, fd, size int, o Options) (*Mapping, error) {
	flags := unix.MAP_SHARED
	if o.Populate {
		flags |= unix.MAP_POPULATE
	}
	prot := unix.PROT_READ | unix.PROT_WRITE
	if o.ReadOnly {
		prot = unix.PROT_READ
	}
	data, err := unix.Mmap(fd, 0, size, prot, flags)
	if err != nil {
		return nil, sysErr("mmap", Path(b, name), fmt.Sprintf(" (%d bytes)", size), err)
	}
	return &Mapping{backend: b, name: name, data: data, lk: fileLocks{fd: fd, path: Path(b, name)}}, nil
}

// fileLocks are a file-backed Mapping's liveness locks: OFD locks on
// bytes of its file (see lockBase), which the kernel drops when the
// descriptor is closed or the process dies.
type fileLocks struct {
	fd   int
	path string
}

func (l fileLocks) tryLock(slot int64) (bool, error) {
	lk := lockRange(unix.F_WRLCK, slot)
	err := unix.FcntlFlock(uintptr(l.fd), unix.F_OFD_SETLK, &lk)
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
		return false, nil
	}
	if err != nil {
		return false, sysErr(fmt.Sprintf("lock slot %d of", slot), l.path, "", err)
	}
	return true, nil
}

func (l fileLocks) unlock(slot int64) error {
	lk := lockRange(unix.F_UNLCK, slot)
	if err := unix.FcntlFlock(uintptr(l.fd), unix.F_OFD_SETLK, &lk); err != nil {
		return sysErr(fmt.Sprintf("unlock slot %d of", slot), l.path, "", err)
	}
	return nil
}

func (l fileLocks) heldByOther(slot int64) (bool, error) {
	lk := lockRange(unix.F_WRLCK, slot)
	if err := unix.FcntlFlock(uintptr(l.fd), unix.F_OFD_GETLK, &lk); err != nil {
		return false, sysErr(fmt.Sprintf("probe slot %d of", slot), l.path, "", err)
	}
	return lk.Type != unix.F_UNLCK, nil
}

func (l fileLocks) size() (int64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(l.fd, &st); err != nil {
		return 0, sysErr("fstat", l.path, "", err)
	}
	return st.Size, nil
}

// close unmaps data and closes the descriptor, which drops its locks.
func (l fileLocks) close(data []byte) error {
	err := unix.Munmap(data)
	if cerr := unix.Close(l.fd); err == nil {
		err = cerr
	}
	return err
}

func lockRange(typ int16, slot int64) unix.Flock_t {
	return unix.Flock_t{Type: typ, Whence: 0, Start: lockBase + slot, Len: 1}
}

// List returns the names of regular files in the Shm directory. Callers
// filter by what they can validate.
func List() ([]string, error) {
	ents, err := os.ReadDir(shmDir)
	if err != nil {
		return nil, fmt.Errorf("shm: list %s: %w", shmDir, err)
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

func openErr(op, path string, err error) error {
	switch {
	case errors.Is(err, unix.EEXIST):
		return fmt.Errorf("%w: %s %s: %w", ErrExist, op, path, fs.ErrExist)
	case errors.Is(err, unix.ENOENT):
		return fmt.Errorf("%w: %s %s: %w", ErrNotExist, op, path, fs.ErrNotExist)
	case errors.Is(err, unix.ELOOP):
		return fmt.Errorf("%w: %s %s is a symlink", ErrNotRegular, op, path)
	case errors.Is(err, unix.EISDIR):
		return fmt.Errorf("%w: %s %s is a directory", ErrNotRegular, op, path)
	}
	return sysErr(op, path, "", err)
}

func isPermErr(err error) bool { return errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) }

// sysErr wraps the OS error of "op path detail". A refusal (EACCES,
// EPERM) also matches ErrPermission and says who owns the file and who we
// are; a full file system or quota (ENOSPC, EDQUOT) also matches
// ErrNoSpace and says how much space is left.
func sysErr(op, path, detail string, err error) error {
	switch {
	case isPermErr(err):
		return fmt.Errorf("%w: %s %s%s: %w%s", ErrPermission, op, path, detail, err, describeAccess(path))
	case isNoSpace(err):
		return fmt.Errorf("%w: %s %s%s: %w%s", ErrNoSpace, op, path, detail, err, describeSpace(path))
	}
	return fmt.Errorf("shm: %s %s%s: %w", op, path, detail, err)
}

// describeAccess reports the file's owner, group and mode and our
// credentials, best effort ("" if the file cannot be stat'ed).
func describeAccess(path string) string {
	var st unix.Stat_t
	if unix.Lstat(path, &st) != nil {
		return ""
	}
	groups, _ := unix.Getgroups()
	return fmt.Sprintf(" (the file has mode %#o, uid %d, gid %d; we are euid %d, egid %d, groups %v)",
		os.FileMode(st.Mode).Perm(), st.Uid, st.Gid, os.Geteuid(), os.Getegid(), groups)
}
