// Package shm opens, creates and maps the memory a myelon segment lives in,
// and holds the two kernel services the ring needs from the OS: futex
// park/wake on a word inside the mapping, and liveness locks that the kernel
// drops when their holder dies.
//
// Three backends share one API (see Backend):
//
//   - Shm: a POSIX shared-memory object by name. On Linux that is the file
//     /dev/shm/<name>, opened directly (glibc's shm_open does the same).
//   - File: a regular file at a path, mapped MAP_SHARED (named "file").
//   - Heap: Go heap memory registered under a name in this process. It cannot
//     cross processes; it exists so that in-process tests run under -race,
//     whose detector ignores mmapped memory.
//
// Access (file-backed backends). Create builds the file under a temporary
// name beside it (.tmp-<name>-<random>), O_EXCL and O_NOFOLLOW with its
// owner bits only, takes the creator's lock, optionally hands it to a group
// (Options.Group, fchown), sets its mode (Options.Perm, 0600 by default,
// with fchmod so the umask does not apply), gives it a size, reserves that
// size (fallocate, or zeros written where the file system lacks it, so a
// full file system is ErrNoSpace from Create instead of a SIGBUS when a
// page is first touched: see reserve_linux.go), and only then links it
// under its name (link fails if the name exists, as O_EXCL would).
// A creator that dies inside Create can leave its temporary file behind.
// Open trusts a segment only if it is a regular file owned by the trusted
// uid (Options.Owner; by default our effective uid: ErrOwner otherwise)
// whose mode is acceptable (Options.Perm: by default any mode granting
// nothing to others, mode&0o007 == 0; ErrMode otherwise). What the kernel
// refuses (EACCES, EPERM: a user outside the group opening a 0660
// segment, anyone else opening a 0600 one, an fchown to a group we are not
// in) is ErrPermission, which also matches fs.ErrPermission.
//
// A peer with write access can still shrink a segment (ftruncate): no
// kernel mechanism stops it for these files (F_ADD_SEALS is EPERM on a
// /dev/shm file and EINVAL elsewhere: seals are for memfd files; a read
// lease cannot be taken while the file is open for writing, as every
// participant has it; mandatory locks are gone),
// and the pages beyond the new end then fault (SIGBUS) in every mapping.
// Mapping.Offset and Mapping.FileSize let a caller that recovered such a
// fault (runtime/debug.SetPanicOnFault) tell it was on this mapping and
// how large the file is now; package ring turns it into ErrTruncated.
//
// Liveness locks are OFD byte-range locks (fcntl F_OFD_SETLK) on bytes far
// beyond the end of the file, one byte per lock slot. An OFD lock belongs to
// the open file description, so it is released when the last descriptor for
// it closes, including when the kernel closes it because the process died. A
// probe from another descriptor (even in the same process) sees it as held.
// Heap segments emulate the same semantics per Mapping.
//
// The file-backed backends need Linux; elsewhere they return
// ErrUnsupported, while the Heap backend works on every system.
package shm
