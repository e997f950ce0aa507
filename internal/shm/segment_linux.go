//go:build linux

package shm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

const shmDir = "/dev/shm"

// Create makes a new segment of size bytes, failing with ErrExist if the
// name is taken. The file is opened O_CREAT|O_EXCL|O_NOFOLLOW with o.Perm
// (the umask does not apply: the mode is set explicitly). The memory reads
// as zeros.
func Create(b Backend, name string, size int, o Options) (*Mapping, error) {
	if err := ValidateName(b, name); err != nil {
		return nil, err
	}
	if size <= 0 {
		return nil, fmt.Errorf("shm: size=%d must be positive", size)
	}
	if b == Heap {
		return heapCreate(name, size)
	}
	path := Path(b, name)
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(o.perm()))
	if err != nil {
		return nil, openErr("create", path, err)
	}
	fail := func(err error) (*Mapping, error) {
		unix.Close(fd)
		unix.Unlink(path)
		return nil, err
	}
	// The creator's liveness lock (slot OwnerSlot), taken before the file
	// has a size: from its first moment, a segment whose creator is alive
	// is never taken for stale (see OwnerAlive).
	lk := lockRange(unix.F_WRLCK, OwnerSlot)
	if err := unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLK, &lk); err != nil {
		return fail(fmt.Errorf("shm: lock new %s: %w", path, err))
	}
	// Set the mode explicitly so the umask cannot widen or narrow it.
	if err := unix.Fchmod(fd, uint32(o.perm())); err != nil {
		return fail(fmt.Errorf("shm: fchmod %s: %w", path, err))
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		return fail(fmt.Errorf("shm: ftruncate %s to %d: %w", path, size, err))
	}
	if b == Shm {
		// tmpfs allocates lazily; reserve now so a full /dev/shm is an error
		// here rather than a SIGBUS on first touch.
		if err := unix.Fallocate(fd, 0, 0, int64(size)); err != nil && !errors.Is(err, unix.EOPNOTSUPP) {
			return fail(fmt.Errorf("shm: fallocate %s (%d bytes): %w", path, size, err))
		}
	}
	m, err := mapFD(b, name, fd, size, o)
	if err != nil {
		return fail(err)
	}
	return m, nil
}

// Open maps an existing segment in full. It refuses symlinks and
// non-regular files, files owned by another user, and files whose
// permission bits differ from o.Perm (0600 by default).
func Open(b Backend, name string, o Options) (*Mapping, error) {
	if err := ValidateName(b, name); err != nil {
		return nil, err
	}
	if b == Heap {
		return heapOpen(name)
	}
	path := Path(b, name)
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, openErr("open", path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("shm: fstat %s: %w", path, err)
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
	m, err := mapFD(b, name, fd, int(st.Size), o)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return m, nil
}

func checkStat(path string, st *unix.Stat_t, o Options) error {
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("%w: %s has type %#o", ErrNotRegular, path, st.Mode&unix.S_IFMT)
	}
	if uid := uint32(os.Geteuid()); st.Uid != uid {
		return fmt.Errorf("%w: %s has uid %d, we are %d", ErrOwner, path, st.Uid, uid)
	}
	if got, want := os.FileMode(st.Mode).Perm(), o.perm(); got != want && !o.AnyPerm {
		return fmt.Errorf("%w: %s has mode %#o, want %#o", ErrMode, path, got, want)
	}
	return nil
}

// OwnerAlive reports whether the creator of a named segment still holds its
// liveness lock (slot OwnerSlot). Unlike Open it needs no mapping, so it
// also answers for a segment whose creator died before sizing it.
func OwnerAlive(b Backend, name string) (bool, error) {
	if err := ValidateName(b, name); err != nil {
		return false, err
	}
	if b == Heap {
		_, err := heapOpen(name)
		return err == nil, err
	}
	path := Path(b, name)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return false, openErr("open", path, err)
	}
	defer unix.Close(fd)
	lk := lockRange(unix.F_WRLCK, OwnerSlot)
	if err := unix.FcntlFlock(uintptr(fd), unix.F_OFD_GETLK, &lk); err != nil {
		return false, fmt.Errorf("shm: probe owner of %s: %w", path, err)
	}
	return lk.Type != unix.F_UNLCK, nil
}

// Stat reports the size and permission bits of a named segment without
// mapping it.
func Stat(b Backend, name string) (size int64, perm os.FileMode, err error) {
	if b == Heap {
		m, err := heapOpen(name)
		if err != nil {
			return 0, 0, err
		}
		return int64(len(m.data)), 0o600, nil
	}
	var st unix.Stat_t
	path := Path(b, name)
	if err := unix.Lstat(path, &st); err != nil {
		return 0, 0, openErr("stat", path, err)
	}
	return st.Size, os.FileMode(st.Mode).Perm(), nil
}

func mapFD(b Backend, name string, fd, size int, o Options) (*Mapping, error) {
	flags := unix.MAP_SHARED
	if o.Populate {
		flags |= unix.MAP_POPULATE
	}
	data, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, flags)
	if err != nil {
		return nil, fmt.Errorf("shm: mmap %s (%d bytes): %w", Path(b, name), size, err)
	}
	return &Mapping{backend: b, name: name, data: data, fd: fd}, nil
}

func (m *Mapping) closeOS() error {
	err := unix.Munmap(m.data)
	m.data = nil
	if cerr := unix.Close(m.fd); err == nil {
		err = cerr
	}
	m.fd = -1
	return err
}

// Remove unlinks a named segment.
func Remove(b Backend, name string) error {
	if err := ValidateName(b, name); err != nil {
		return err
	}
	if b == Heap {
		return heapRemove(name)
	}
	path := Path(b, name)
	if err := unix.Unlink(path); err != nil {
		return openErr("unlink", path, err)
	}
	return nil
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
	return fmt.Errorf("shm: %s %s: %w", op, path, err)
}
