//go:build linux

package shm

// Reserving a new segment's space at Create.
//
// A file-backed segment is a mapping of a file. tmpfs (/dev/shm) and most
// disk file systems allocate a file's pages lazily: ftruncate only sets
// its size, and the page behind an address is allocated when the mapping
// first touches it. If the file system is full by then, the kernel cannot
// allocate it and sends SIGBUS to whoever touched it, which for a ring is
// the producer in the middle of a publish, or a consumer; MAP_POPULATE
// does not help (it faults pages in best effort and gives up silently).
// So Create reserves every byte of the file before it links it under its
// name: a full file system (or quota) is then an error of Create,
// ErrNoSpace, and never a signal later.
//
// reserve asks for the space with fallocate(2) mode 0, which allocates
// (and on tmpfs zeroes) the blocks without writing them. A file system
// without fallocate (EOPNOTSUPP: older NFS, some FUSE and 9p mounts,
// ramfs) gets the portable fallback: zeros written over the whole file
// with pwrite, which allocates each block as a write does, and fails with
// ENOSPC where the space runs out. A file system that deduplicates or
// compresses zero blocks away may still defer allocation; no portable
// call guarantees more.

import (
	"errors"
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// fallocate is unix.Fallocate; the tests replace it to take the zero-fill
// fallback on a file system that has fallocate.
var fallocate = unix.Fallocate

// zeroChunk is what the fallback writes per pwrite: 64 KiB of zeros, from
// this array that is never written (its pages stay the shared zero page
// until read).
var zeroChunk [64 << 10]byte

// reserve makes the file fd (at path, for messages) own storage for its
// first size bytes, or fails: ErrNoSpace when the file system or quota is
// full.
func reserve(fd int, path string, size int64) error {
	err := fallocate(fd, 0, 0, size)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.ENOSYS) {
		return sysErr("fallocate", path, fmt.Sprintf(" (%d bytes)", size), err)
	}
	return zeroFill(fd, path, size)
}

// zeroFill writes zeros over the first size bytes of fd.
func zeroFill(fd int, path string, size int64) error {
	for off := int64(0); off < size; {
		chunk := zeroChunk[:min(int64(len(zeroChunk)), size-off)]
		n, err := unix.Pwrite(fd, chunk, off)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return sysErr("reserve (write zeros)", path, fmt.Sprintf(" (%d bytes, at %d; no fallocate on this file system)", size, off), err)
		}
		if n == 0 {
			return fmt.Errorf("shm: reserve (write zeros) %s: no progress at offset %d of %d", path, off, size)
		}
		off += int64(n)
	}
	return nil
}

// isNoSpace reports whether err says the file system or a quota is full.
func isNoSpace(err error) bool { return errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) }

// describeSpace reports the free space of the file system holding path's
// directory, best effort ("" if it cannot be read).
func describeSpace(path string) string {
	var st unix.Statfs_t
	dir := filepath.Dir(path)
	if unix.Statfs(dir, &st) != nil {
		return ""
	}
	bs := uint64(st.Bsize)
	return fmt.Sprintf(" (the file system of %s has %d of %d bytes available)", dir, st.Bavail*bs, st.Blocks*bs)
}
